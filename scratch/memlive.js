const t0 = Date.now();
setInterval(() => { global.gc(); const m = process.memoryUsage(); process.stderr.write(`${((Date.now()-t0)/1000).toFixed(1)} live heap=${(m.heapUsed/2**20).toFixed(0)} ab=${(m.arrayBuffers/2**20).toFixed(0)} rss=${(m.rss/2**20).toFixed(0)}\n`); }, 200).unref();
