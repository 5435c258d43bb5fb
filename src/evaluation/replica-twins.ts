import { id } from "ethers";
import { twinIdOf } from "../chain/twin-id";
import { ALL_CATEGORIES, Action, Purpose } from "../vocabulary";
import type { RpcContext } from "./network";

/**
 * The replica run's twins (issue 12: the gateway with 1,000 twins): `count` twins in all, the network part's twin
 * first, the others created by its patient with the hospital as custodian, and every new one granting `reader` READ
 * for treatment for 30 days, so that each twin is one more consent question (and custody check) for the gateways.
 * Sent as raw `eth_sendTransaction`s, a few in flight (the node mines each on arrival): all creations, then all grants;
 * every receipt is checked.
 */
const IN_FLIGHT = 16;
const GAS = "0x493e0"; // 300,000: above createTwin and grant, so no estimate per transaction
const DAY = 86_400;

export async function enrolReplicaTwins(ctx: RpcContext, reader: string, count: number): Promise<string[]> {
  const { provider, ledger, roles } = ctx;
  const patient = roles.patient.address;
  const registry = await ledger.registry.getAddress();
  const consent = await ledger.consent.getAddress();
  const salts = Array.from({ length: Math.max(0, count - 1) }, (_, i) => id(`evaluation:replicas:twin:${i}`));
  const twins = salts.map((salt) => twinIdOf(patient, salt));
  const head = await provider.getBlock("latest");
  const t = head?.timestamp ?? Math.floor(Date.now() / 1000);
  const send = (to: string, data: string) =>
    provider.send("eth_sendTransaction", [{ from: patient, to, data, gas: GAS }]) as Promise<string>;
  const hashes: string[] = [];
  hashes.push(
    ...(await inBatches(salts, (salt, i) =>
      send(
        registry,
        ledger.registry.interface.encodeFunctionData("createTwin", [
          salt,
          id(`meta:replica:${i}`),
          roles.hospital.address,
        ]),
      ),
    )),
  );
  hashes.push(
    ...(await inBatches(twins, (twinId) =>
      send(
        consent,
        ledger.consent.interface.encodeFunctionData("grant", [
          twinId,
          reader,
          ALL_CATEGORIES,
          Action.READ,
          Purpose.TREATMENT,
          t,
          t + 30 * DAY,
        ]),
      ),
    )),
  );
  const receipts = await inBatches(hashes, (hash) => provider.getTransactionReceipt(hash));
  const failed = receipts.filter((r) => r === null || r.status !== 1).length;
  if (failed > 0) throw new Error(`${failed} of the replica twins' ${hashes.length} set-up transactions failed`);
  return [ctx.twinId, ...twins];
}

/** `fn` over `items`, at most IN_FLIGHT at once, results in order. */
async function inBatches<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += IN_FLIGHT) {
    out.push(...(await Promise.all(items.slice(i, i + IN_FLIGHT).map((item, k) => fn(item, i + k)))));
  }
  return out;
}
