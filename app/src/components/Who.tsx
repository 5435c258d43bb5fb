import { computeAddress } from "ethers";
import type { Chain } from "../env";
import { shortAddress } from "../vocab";

/** An address, named when it is one of the demo accounts or the gateway's operator. */
export function nameOf(chain: Chain, address: string): string | null {
  const a = address.toLowerCase();
  if (a === chain.config.operator.toLowerCase()) return "Hospital (gateway operator)";
  const demo = chain.config.demoAccounts.find((d) => computeAddress(d.privateKey).toLowerCase() === a);
  return demo ? demo.label.replace(/ \(demo\)$/, "") : null;
}

export function Who(props: { chain: Chain; address: string }) {
  const name = nameOf(props.chain, props.address);
  return (
    <span class="who" title={props.address}>
      {name ? (
        <>
          {name} <code>{shortAddress(props.address)}</code>
        </>
      ) : (
        <code>{props.address}</code>
      )}
    </span>
  );
}
