import { expect } from "chai";
import fc from "fast-check";
import { audienceOf, checkAudience, originOf, type GatewayAudience } from "../../../src/service/audience";
import { GatewayError } from "../../../src/service/errors";

const OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/** The origin rule: the named origin is ours exactly as written, and an origin as originOf writes it. */
function originRule(named: string, ours: string): boolean {
  try {
    return named === ours && originOf(named) === named;
  } catch {
    return false;
  }
}

function accepted(named: { operator: string; origin: string }, ours: GatewayAudience): boolean {
  try {
    checkAudience(named, ours);
    return true;
  } catch (error) {
    expect(error).to.be.instanceOf(GatewayError);
    expect((error as GatewayError).code).to.equal("wrong-audience");
    return false;
  }
}

/** Origins as gateways and signers write them: normalized, and every way of writing one that is not. */
const ORIGINS = [
  "https://gateway.example",
  "https://gateway.example/",
  "HTTPS://Gateway.Example",
  "https://gateway.example:443",
  "https://gateway.example:8443",
  "http://127.0.0.1:8600",
  "http://127.0.0.1:8600/app",
  "ftp://gateway.example",
  "gateway.example",
  "",
];

describe("service/audience: whom a signed request is addressed to", () => {
  it("accepts our operator (any case) and our origin exactly as written; refuses another, and an equivalent spelling", () => {
    const ours = audienceOf(OPERATOR, "https://gateway.example");
    expect(accepted({ operator: OPERATOR.toLowerCase(), origin: "https://gateway.example" }, ours)).to.equal(true);
    expect(accepted({ operator: OPERATOR, origin: "https://gateway.example/" }, ours)).to.equal(false);
    expect(accepted({ operator: OPERATOR, origin: "HTTPS://gateway.example" }, ours)).to.equal(false);
    expect(accepted({ operator: OPERATOR, origin: "https://other.example" }, ours)).to.equal(false);
    const otherOperator = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    expect(accepted({ operator: otherOperator, origin: "https://gateway.example" }, ours)).to.equal(false);
    expect(() => checkAudience({ operator: OPERATOR, origin: "https://gateway.example" }, null)).to.throw(GatewayError);
  });

  it("an audience built by hand with an origin originOf would not write refuses even its own spelling", () => {
    const handMade: GatewayAudience = { operator: OPERATOR, origin: "https://gateway.example/" };
    expect(accepted({ operator: OPERATOR, origin: "https://gateway.example/" }, handMade)).to.equal(false);
  });

  it("regression: an empty origin is never accepted, even by an audience built by hand with an empty origin", () => {
    // The check used to read an origin it could not parse as "" and then compare: "" matched "".
    const handMade: GatewayAudience = { operator: OPERATOR, origin: "" };
    expect(accepted({ operator: OPERATOR, origin: "" }, handMade)).to.equal(false);
  });

  it("property: our origin exactly as written, and only an origin as originOf writes it, whatever ours was built from", () => {
    const origin = fc.constantFrom(...ORIGINS);
    fc.assert(
      fc.property(origin, origin, fc.boolean(), (named, oursOrigin, normalizeOurs) => {
        let ours: GatewayAudience;
        if (normalizeOurs) {
          try {
            ours = audienceOf(OPERATOR, oursOrigin);
          } catch {
            return; // not an origin a gateway can have
          }
        } else {
          ours = { operator: OPERATOR, origin: oursOrigin }; // an integrator's own, maybe not normalized
        }
        expect(accepted({ operator: OPERATOR, origin: named }, ours)).to.equal(originRule(named, ours.origin));
      }),
      { numRuns: 400 },
    );
  });
});
