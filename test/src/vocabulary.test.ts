import { expect } from "chai";
import { ethers } from "hardhat";
import {
  AccessDecision,
  Action,
  ALL_ACTIONS,
  ALL_CATEGORIES,
  ALL_PURPOSES,
  DataCategory,
  mask,
  namesOf,
  Purpose,
} from "../../src/vocabulary";

describe("vocabulary", () => {
  it("holds the TypeScript bitmasks equal to contracts/Common.sol", async () => {
    const harness = await ethers.deployContract("VocabularyHarness");
    const [categories, allCategories] = await harness.categories();
    expect(categories.map(Number)).to.deep.equal(Object.values(DataCategory));
    expect(Number(allCategories)).to.equal(ALL_CATEGORIES);
    const [actions, allActions] = await harness.actions();
    expect(actions.map(Number)).to.deep.equal(Object.values(Action));
    expect(Number(allActions)).to.equal(ALL_ACTIONS);
    const [purposes, allPurposes] = await harness.purposes();
    expect(purposes.map(Number)).to.deep.equal(Object.values(Purpose));
    expect(Number(allPurposes)).to.equal(ALL_PURPOSES);
  });

  it("holds AccessDecision equal to IConsentPolicy.AccessDecision, Blocked last", async () => {
    const harness = await ethers.deployContract("VocabularyHarness");
    const [values, max] = await harness.accessDecisions();
    const names = [
      "Allowed",
      "UnknownTwin",
      "TwinSuspended",
      "TwinErased",
      "NoConsent",
      "NotYetValid",
      "Expired",
      "Revoked",
      "CategoryNotGranted",
      "ActionNotGranted",
      "PurposeNotGranted",
      "Blocked",
    ] as const;
    expect(values.map(Number)).to.deep.equal(names.map((name) => AccessDecision[name]));
    const tsValues = Object.values(AccessDecision).filter((v): v is number => typeof v === "number");
    expect(Number(max)).to.equal(Math.max(...tsValues));
    expect(tsValues).to.have.length(names.length);
  });

  it("combines names into masks and back", () => {
    const vitals = mask(DataCategory, ["VITALS", "WEARABLE_STREAMS"]);
    expect(vitals).to.equal(DataCategory.VITALS | DataCategory.WEARABLE_STREAMS);
    expect(namesOf(DataCategory, vitals)).to.deep.equal(["VITALS", "WEARABLE_STREAMS"]);
    expect(namesOf(Purpose, 0)).to.deep.equal([]);
  });
});
