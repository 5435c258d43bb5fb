// The integrator's first hour: attach to the deployment, accredit a custodian, create a twin, grant, check, revoke,
// read the events, and see a bad call refused with the contract's custom error.
import { hexlify, Interface, isCallException, JsonRpcProvider, randomBytes } from "ethers";
import { attachDeployment, twinIdOf, twinMetadataCommitment } from "twinledger/chain";
import { Action, DataCategory, Purpose } from "twinledger/vocabulary";

const RPC_URL = process.env.RPC_URL ?? "http://127.0.0.1:8545";

/** The custom error a refused call reverted with, by name and arguments. */
function customError(error: unknown, contract: { interface: Interface }): string {
  if (!isCallException(error) || !error.data) throw error;
  const parsed = contract.interface.parseError(error.data);
  if (!parsed) throw error;
  return `${parsed.name}(${parsed.args.join(", ")})`;
}

async function main(): Promise<void> {
  // cacheTimeout -1: by default ethers answers a call identical to one made in the last 250 ms from its cache, so the
  // check after `revoke` below could return the answer from before it.
  const provider = new JsonRpcProvider(RPC_URL, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  const [governance, hospital, patient, clinician] = await Promise.all([1, 2, 3, 4].map((i) => provider.getSigner(i)));

  // Records from ./deployments/localhost (examples/deploy.ts), else from the package's deployments/.
  const { registry, consent } = attachDeployment("localhost", provider);

  // 1. Governance accredits the hospital: createTwin refuses a custodian without CUSTODIAN_ROLE (NotCustodian).
  const salt = hexlify(randomBytes(32));
  const metadata = twinMetadataCommitment({ kind: "example twin" }); // keep metadata.opening off chain
  try {
    await registry.connect(patient).createTwin.staticCall(salt, metadata.commitment, hospital.address);
  } catch (error) {
    console.log(`before accreditation, createTwin is refused: ${customError(error, registry)}`);
  }
  const custodianRole = await registry.CUSTODIAN_ROLE();
  await (await registry.connect(governance).grantRole(custodianRole, hospital.address)).wait();

  // 2. The patient creates a twin at the hospital; its id follows from the patient and the salt.
  await (await registry.connect(patient).createTwin(salt, metadata.commitment, hospital.address)).wait();
  const twinId = twinIdOf(patient.address, salt);
  console.log(`twin ${twinId} created, custodian ${await registry.custodianOf(twinId)}`);

  // 3. The patient grants the clinician vitals, read, for treatment, for one hour. Windows are judged by the time of
  // the block that runs the check, not by the wall clock: start them from the latest block's timestamp.
  const now = (await provider.getBlock("latest"))!.timestamp;
  const terms = [DataCategory.VITALS, Action.READ, Purpose.TREATMENT, now, now + 3600] as const;
  await (await consent.connect(patient).grant(twinId, clinician.address, ...terms)).wait();
  const check = () =>
    consent.isAuthorized(twinId, clinician.address, Action.READ, DataCategory.VITALS, Purpose.TREATMENT);
  console.log(`clinician may read vitals for treatment: ${await check()}`);

  // 4. The patient revokes; it holds from the revoking block on.
  await (await consent.connect(patient).revoke(twinId, clinician.address)).wait();
  console.log(`after revoke: ${await check()}`);

  // 5. The events of this twin.
  const granted = await consent.queryFilter(consent.filters.ConsentGranted(twinId), 0);
  const revoked = await consent.queryFilter(consent.filters.ConsentRevoked(twinId), 0);
  console.log(
    `events: ${granted.length} ConsentGranted (grantee ${granted[0].args.grantee}), ${revoked.length} ConsentRevoked`,
  );

  // 6. A bad call: the clinician cannot grant on the patient's twin.
  try {
    await consent.connect(clinician).grant(twinId, clinician.address, ...terms);
  } catch (error) {
    console.log(`a stranger's grant is refused: ${customError(error, consent)}`);
  }
  provider.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
