import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { id, JsonRpcProvider, Network, Wallet } from "ethers";
import { startLocalNode, type LocalNode } from "../../src/evaluation/node-process";
import { phiFactsOf, type PhiFacts } from "./phi-facts";
import { DEMO_EMERGENCY_REASON, runDemoStory, type DemoStoryResult } from "./demo-story";
import { chainChunks, fileChunks, findHits, needlesOf, type Chunk, type ChainScanStats, type Hit } from "./scanner";

/**
 * Checks that stay (issue 10): the demo story against a `hardhat node` this test starts; every transaction input,
 * log and storage write, and every file the service leaves (and their names), searched for the demo patient's
 * facts as UTF-8, hex text and keccak256 (times also as ABI words). Zero hits; and a planted fact is found.
 */
describe("privacy: no PHI on chain or in the service's files (the demo story against a hardhat node)", function () {
  this.timeout(180_000);
  let node: LocalNode;
  let provider: JsonRpcProvider;
  let workdir: string;
  let story: DemoStoryResult;
  let facts: PhiFacts;
  let chain: { chunks: Chunk[]; stats: ChainScanStats };

  const describeHits = (hits: readonly Hit[]) =>
    hits
      .slice(0, 20)
      .map((h) => `${h.form} of a fact (${h.fact.length} chars) in ${h.where}`)
      .join("\n");

  before(async function () {
    node = await startLocalNode(process.cwd(), 60_000);
    provider = new JsonRpcProvider(node.url, Network.from(31337), {
      staticNetwork: true,
      pollingInterval: 50,
      cacheTimeout: -1, // ethers caches equal calls for 250 ms: nonces would repeat
    });
    workdir = mkdtempSync(join(tmpdir(), "twinledger-no-phi-"));
    const [admin, hospital, emr, wearable] = await Promise.all([0, 1, 2, 3].map((i) => provider.getSigner(i)));
    story = await runDemoStory({ provider, admin, hospital, emr, wearable, workdir });
    facts = phiFactsOf([story.patient.emr, story.patient.wearable], [DEMO_EMERGENCY_REASON]);
    chain = await chainChunks(node.url);
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it("the story ran: data was served, refusals refused, the chain was read whole", () => {
    expect(story.statuses[0]).to.equal(200); // the clinician's first query
    expect(story.statuses[1]).to.equal(403); // the researcher without consent
    expect(facts.texts.length).to.be.greaterThan(1000);
    expect(chain.stats.transactions).to.be.greaterThan(20);
    expect(chain.stats.logs).to.be.greaterThan(20);
    expect(chain.stats.storageWrites).to.be.greaterThan(40);
  });

  it("no fact of the patient in any transaction input, log or storage write", () => {
    const hits = findHits(chain.chunks, needlesOf(facts));
    expect(hits.length, describeHits(hits)).to.equal(0);
  });

  it("no fact of the patient in the files the service leaves, nor in their names", () => {
    const hits = findHits(fileChunks(workdir), needlesOf(facts));
    expect(hits.length, describeHits(hits)).to.equal(0);
  });

  it("the scan finds a planted fact: in a transaction's input, its log and its storage write, and in a file", async () => {
    const name = story.patient.emr.entry!.map((e) => e.resource).find((r) => r?.resourceType === "Patient");
    const family = (name as { name: { family: string }[] }).name[0].family;
    // Someone creates a twin whose metadata commitment is the plain hash of the patient's family name.
    const planter = new Wallet(Wallet.createRandom().privateKey, provider);
    const funder = await provider.getSigner(0);
    const hospital = await provider.getSigner(1);
    await (await funder.sendTransaction({ to: planter.address, value: 10n ** 18n })).wait();
    const from = await provider.getBlockNumber();
    await (
      await story.registry.connect(planter).createTwin(id("planted"), id(family), await hospital.getAddress())
    ).wait();
    writeFileSync(join(workdir, "planted.txt"), `patient ${family}`);

    const after = await chainChunks(node.url);
    const fresh = after.chunks.filter((c) => !chain.chunks.some((old) => old.where === c.where));
    const needles = needlesOf(facts);
    const chainHits = findHits(fresh, needles);
    const where = new Set(chainHits.filter((h) => h.fact === family).map((h) => h.where.replace(/^tx \S+ /, "")));
    expect([...where].map((w) => w.split(" ")[0]).sort()).to.include.members(["input", "log", "sstore"]);
    expect(from).to.be.greaterThan(0);
    const fileHits = findHits(fileChunks(workdir), needles);
    expect(fileHits.map((h) => `${h.form} ${h.where}`)).to.include(`utf8 file planted.txt`);
  });

  it("the scanner: each form of a planted fact is found, and an unrelated chunk is clean", () => {
    const planted: PhiFacts = { texts: ["Silva461 Kenji706"], times: [1_700_000_000] };
    const needles = needlesOf(planted);
    const text = Buffer.from("Silva461 Kenji706");
    const chunks: Chunk[] = [
      { where: "utf8", bytes: Buffer.concat([Buffer.from([1, 2, 3]), text]) },
      { where: "hex", bytes: Buffer.from(`{"x":"0x${text.toString("hex").toUpperCase()}"}`) },
      { where: "keccak", bytes: Buffer.from(id("Silva461 Kenji706").slice(2), "hex") },
      { where: "keccak-text", bytes: Buffer.from(`hash=${id("Silva461 Kenji706")}`) },
      { where: "word", bytes: Buffer.from((1_700_000_000).toString(16).padStart(64, "0"), "hex") },
      { where: "clean", bytes: Buffer.from("nothing to see here, Silva461 alone") },
    ];
    const hits = findHits(chunks, needles);
    expect(hits.map((h) => `${h.where}:${h.form}`).sort()).to.deep.equal(
      ["hex:hex-text", "keccak-text:keccak256-hex-text", "keccak:keccak256", "utf8:utf8", "word:uint256-word"].sort(),
    );
  });
});
