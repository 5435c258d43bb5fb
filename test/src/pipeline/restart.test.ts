import { expect } from "chai";
import { readdir, rm, writeFile } from "node:fs/promises";
import { indexKeyOf, TwinIndexFolder } from "../../../src/pipeline/twin-index";
import { join } from "node:path";
import { canonicalJson } from "../../../src/twin";
import type { TwinPipeline } from "../../../src/pipeline";
import { freshDatabase } from "../../postgres-server";
import { cohortSmall, removeFolders, startService, type Service } from "./harness";

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`pipeline/restart (${backend}): a new pipeline over the same folders answers the same`, function () {
    this.timeout(120_000);
    let service: Service;
    let databaseUrl: string | undefined;
    const opened: TwinPipeline[] = [];
    const restart = async (): Promise<TwinPipeline> => {
      const pipeline = await service.restart();
      opened.push(pipeline);
      return pipeline;
    };
    before(async () => {
      databaseUrl = backend === "postgres" ? await freshDatabase("restart") : undefined;
      service = await startService({ batchPolicy: { maxReadings: 60, maxAgeMs: 60 * 60_000 }, databaseUrl });
      opened.push(service.pipeline);
    });
    after(async () => {
      for (const pipeline of opened) await pipeline.close();
      await removeFolders(service?.folders);
    });

    it("rebuilds every twin version, record, reading (pending ones too) and anchor", async () => {
      const { pipeline, f, clock } = service;
      const cohort = await cohortSmall();
      const patient = cohort.patients[1];
      await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
      const observations = (patient.wearable.entry ?? [])
        .map((e) => e.resource)
        .filter((r) => r?.resourceType === "Observation");
      await pipeline.ingestWearable(f.twinId, observations.slice(0, 130), { deviceSigner: f.wearable }); // 2 batches flushed
      await pipeline.ingestWearable(f.twinId, observations.slice(130, 140), { deviceSigner: f.wearable }); // pending
      expect(pipeline.pendingReadings(f.twinId)).to.be.greaterThan(0);

      const before = {
        version: pipeline.version(f.twinId),
        records: await pipeline.records(f.twinId, 0xffffffff),
        readings: await pipeline.readings(f.twinId, {}),
        anchors: pipeline.anchors(f.twinId),
        pending: pipeline.pendingReadings(f.twinId),
      };
      const restarted = await restart();
      expect(restarted.twins()).to.deep.equal([f.twinId.toLowerCase()]);
      expect(restarted.holding(f.twinId)).to.equal("active");
      const after = {
        version: restarted.version(f.twinId),
        records: await restarted.records(f.twinId, 0xffffffff),
        readings: await restarted.readings(f.twinId, {}),
        anchors: restarted.anchors(f.twinId),
        pending: restarted.pendingReadings(f.twinId),
      };
      expect(after.version.version.version).to.equal(before.version.version.version);
      expect(after.version.version.stateRoot).to.equal(before.version.version.stateRoot);
      expect(after.version.version.sourcesRoot).to.equal(before.version.version.sourcesRoot);
      expect(after.version.anchor).to.deep.equal(before.version.anchor);
      expect(canonicalJson(after.version.version.model)).to.equal(canonicalJson(before.version.version.model));
      expect(canonicalJson(after.records)).to.equal(canonicalJson(before.records));
      expect(canonicalJson(after.readings)).to.equal(canonicalJson(before.readings));
      expect(after.anchors).to.deep.equal(before.anchors);
      expect(after.pending).to.equal(before.pending);

      // the restarted service carries on: the pending readings flush (with the configured clock) and commit
      clock.now += 60 * 60_000;
      const due = await restarted.flushDue();
      expect(due.flushed).to.have.length(0); // a restarted pipeline knows no device signer until told one
      expect(due.failed.map((f) => f.twinId)).to.deep.equal([f.twinId.toLowerCase()]);
      expect(restarted.pendingReadings(f.twinId)).to.equal(before.pending);
      const done = await restarted.flush(f.twinId, { deviceSigner: f.wearable });
      expect(done?.readings).to.equal(before.pending);
      expect(done?.state?.version).to.equal(before.version.version.version + 1);
      expect((await f.updateLog.twinStateOf(f.twinId)).stateRoot).to.equal(done?.version.stateRoot);
    });

    // the index files of v1 live in the folder and migrate into whichever store is open; the SQLite run covers it
    (backend === "sqlite" ? it : it.skip)(
      "loads an index written before v2: states without chain version or epoch count as epoch 1",
      async () => {
        const { f, folders } = service;
        // a plain index file as v1 wrote it (migrated to a sealed one on open)
        const sealed = new TwinIndexFolder(folders.indexFolder, { key: indexKeyOf(service.custodianKey), databaseUrl });
        const [loaded] = await sealed.loadAll();
        for (const name of await readdir(folders.indexFolder)) await rm(join(folders.indexFolder, name));
        const path = join(folders.indexFolder, `${f.twinId.slice(2).toLowerCase()}.json`);
        const index = JSON.parse(JSON.stringify(loaded)) as { states: Record<string, unknown>[] };
        const versions = index.states.map((state) => state.version);
        for (const state of index.states) {
          delete state.chainVersion;
          delete state.epoch;
        }
        await writeFile(path, JSON.stringify(index));
        const restarted = await restart();
        const states = restarted.anchors(f.twinId).states;
        expect(states.map((s) => s.chainVersion)).to.deep.equal(versions);
        expect(states.every((s) => s.epoch === 1)).to.equal(true);
        // migrated: the plain file is gone, the index database holds the same twin, sealed
        const names = await readdir(folders.indexFolder);
        expect(names.filter((n) => n.endsWith(".json") || n.endsWith(".twin"))).to.deep.equal([]);
        if (backend === "sqlite") expect(names).to.include("index.sqlite");
        expect(await sealed.loadAll()).to.have.length(1);
        await sealed.close();
      },
    );
  });
}
