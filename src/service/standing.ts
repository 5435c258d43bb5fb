import type { TwinRegistry } from "../../typechain-types";
import type { ChainHead } from "./head-follower";

/** The refusals of the operator's standing, and their status (see src/service/README.md). */
export const STANDING_STATUS = {
  /** The twin's custodian on chain is no longer the gateway's operator (`changeCustodian`). */
  "operator-not-custodian": 403,
  /** The gateway's operator no longer holds CUSTODIAN_ROLE (accreditation revoked). */
  "operator-not-accredited": 403,
} as const;

export type StandingReason = keyof typeof STANDING_STATUS;

/** Heads whose answers are kept. */
const HEADS_KEPT = 2;
const TWINS_PER_HEAD = 65_536;

/**
 * The operator's standing at the head (issue 10, item 8): the gateway serves a twin only while its operator is the
 * twin's custodian (`TwinRegistry.custodianOf`) and holds CUSTODIAN_ROLE (`isCustodian`), both read at the block the
 * consent is decided at. A custodian change or a revoked accreditation thus refuses from the block that mines it,
 * exactly like a revoked grant.
 *
 * Answers never change for a given block, so they are kept by block hash (the last {@link HEADS_KEPT} heads): the
 * accreditation once per head, the custodian once per head and twin; a failed call is not kept.
 */
export class OperatorStanding {
  private readonly operator: Promise<string>;
  private readonly heads = new Map<
    string,
    { accredited: Promise<boolean>; custodians: Map<string, Promise<string>> }
  >();

  constructor(
    private readonly registry: TwinRegistry,
    operator: string | Promise<string>,
  ) {
    this.operator = Promise.resolve(operator).then((address) => address.toLowerCase());
    this.operator.catch(() => undefined);
  }

  /** Null when the operator stands for the twin at `head`, else why not. */
  async at(twinId: string, head: ChainHead): Promise<StandingReason | null> {
    const atHead = this.atHead(head);
    const key = twinId.toLowerCase();
    let custodian = atHead.custodians.get(key);
    if (custodian === undefined) {
      if (atHead.custodians.size >= TWINS_PER_HEAD) atHead.custodians.clear();
      custodian = this.registry.custodianOf(twinId, { blockTag: head.number });
      const kept = atHead.custodians;
      kept.set(key, custodian);
      custodian.catch(() => kept.delete(key));
    }
    const [accredited, current, operator] = await Promise.all([atHead.accredited, custodian, this.operator]);
    if (current.toLowerCase() !== operator) return "operator-not-custodian";
    if (!accredited) return "operator-not-accredited";
    return null;
  }

  /** Reads the operator's accreditation at `head` (kept for the requests decided there); rejects as the call does. */
  async warm(head: ChainHead): Promise<void> {
    await this.atHead(head).accredited;
  }

  private atHead(head: ChainHead) {
    let atHead = this.heads.get(head.hash);
    if (atHead === undefined) {
      const accredited = this.operator.then((operator) =>
        this.registry.isCustodian(operator, { blockTag: head.number }),
      );
      atHead = { accredited, custodians: new Map() };
      const kept = atHead;
      this.heads.set(head.hash, atHead);
      if (this.heads.size > HEADS_KEPT) this.heads.delete(this.heads.keys().next().value as string);
      accredited.catch(() => {
        if (this.heads.get(head.hash) === kept) this.heads.delete(head.hash);
      });
    }
    return atHead;
  }
}
