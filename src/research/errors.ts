import { TwinLedgerError } from "../errors";

/**
 * The research module's error codes.
 *
 * | code                       | raised when                                                                |
 * | -------------------------- | -------------------------------------------------------------------------- |
 * | `RESEARCH_COHORT_TOO_SMALL`| fewer contributors than the study's k: the answer is refused, no ε spent   |
 * | `RESEARCH_BUDGET_EXHAUSTED`| the query asks for more ε than the study has left                          |
 * | `RESEARCH_INVALID_QUERY`   | a malformed query: bounds, ε, quantile, bins, window or sensitivity        |
 */
export type ResearchErrorCode = "RESEARCH_COHORT_TOO_SMALL" | "RESEARCH_BUDGET_EXHAUSTED" | "RESEARCH_INVALID_QUERY";

/** An error of the research module; messages name the offending parameter, never a twin's data. */
export class ResearchError extends TwinLedgerError {
  constructor(
    override readonly code: ResearchErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}
