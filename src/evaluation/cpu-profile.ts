import type { Profiler } from "node:inspector";
import { Session } from "node:inspector/promises";

/** A V8 CPU profile, as the inspector's `Profiler.stop` returns it (and Chrome's DevTools open). */
export type CpuProfile = Profiler.Profile;

/** A share of a profile's samples. */
export interface ProfileShare {
  /** A function (`name file:line`), or an area (see {@link areaShares}). */
  readonly name: string;
  /** Its samples over all samples, in [0, 1]. */
  readonly share: number;
}

/**
 * Runs `run` under V8's sampling CPU profiler of this thread (one sample every `intervalUs` microseconds) and returns
 * its result with the profile of exactly that run.
 */
export async function withCpuProfile<T>(
  run: () => Promise<T>,
  intervalUs = 100,
): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
    await session.post("Profiler.start");
    let outcome: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };
    try {
      outcome = { ok: true, value: await run() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const { profile } = await session.post("Profiler.stop");
    if (!outcome.ok) throw outcome.error;
    return { result: outcome.value, profile };
  } finally {
    session.disconnect();
  }
}

/** Samples per node id. */
function sampleCounts(profile: CpuProfile): { counts: Map<number, number>; total: number } {
  const counts = new Map<number, number>();
  for (const id of profile.samples ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
  return { counts, total: profile.samples?.length ?? 0 };
}

/** The VM's own states, which have no caller worth naming. */
const VM_STATES = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/**
 * The frames of a profile with their callers. V8 names a native function after its addon's class, not after what
 * it does (libsecp256k1's verification can show as `KeccakWrapper`), so native frames are named with the nearest
 * JavaScript frame that called them.
 */
class ProfileFrames {
  readonly #parents = new Map<number, Profiler.ProfileNode>();

  constructor(profile: CpuProfile) {
    for (const node of profile.nodes) {
      for (const child of node.children ?? []) this.#parents.set(child, node);
    }
  }

  /** The nearest caller of `node` that is JavaScript (has a URL), if any. */
  jsCaller(node: Profiler.ProfileNode): Profiler.ProfileNode | undefined {
    for (let at = this.#parents.get(node.id); at !== undefined; at = this.#parents.get(at.id)) {
      if (at.callFrame.url !== "") return at;
    }
    return undefined;
  }

  isNative(node: Profiler.ProfileNode): boolean {
    return node.callFrame.url === "" && !VM_STATES.has(node.callFrame.functionName);
  }

  /** `name file:line`; a native function's name with its JavaScript caller's. */
  functionName(node: Profiler.ProfileNode): string {
    const { functionName: name, url, lineNumber } = node.callFrame;
    const own = name === "" ? "(anonymous)" : name;
    if (url !== "") return `${own} ${fileOf(url)}:${lineNumber + 1}`;
    const caller = this.isNative(node) ? this.jsCaller(node) : undefined;
    return caller === undefined ? own : `${own} (native) ← ${this.functionName(caller)}`;
  }

  /** {@link areaOf}; native code is counted in its JavaScript caller's area, marked native. */
  area(node: Profiler.ProfileNode): string {
    const caller = this.isNative(node) ? this.jsCaller(node) : undefined;
    return caller === undefined ? areaOf(node) : `${areaOf(caller)} (native)`;
  }
}

/** A script's name, short: `<package>/<file>` for npm packages, the path under `src/`, Node's own name. */
function fileOf(url: string): string {
  if (url.startsWith("node:")) return url;
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return `${packageOf(url.slice(modules + "node_modules/".length))}/${url.split("/").pop()}`;
  const src = url.lastIndexOf("/src/");
  return src >= 0 ? url.slice(src + 1) : url.split("/").slice(-2).join("/");
}

/** The package of a path under node_modules/ (`@scope/name` or `name`). */
function packageOf(path: string): string {
  const [scope, name] = path.split("/");
  return scope.startsWith("@") ? `${scope}/${name}` : scope;
}

/**
 * Where code runs: the npm package (`npm:<name>`), the path under `src/`, Node's own modules (`node:internal`), or,
 * with no script, the name V8 gives (`(idle)`, `(garbage collector)`, `(program)`, a native function's name).
 */
export function areaOf(node: Profiler.ProfileNode): string {
  const { functionName: name, url } = node.callFrame;
  if (url === "") return name === "" ? "(native)" : name;
  if (url.startsWith("node:")) return "node:internal";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return `npm:${packageOf(url.slice(modules + "node_modules/".length))}`;
  return fileOf(url);
}

function sharesBy(
  profile: CpuProfile,
  key: (frames: ProfileFrames, node: Profiler.ProfileNode) => string,
  top: number,
): ProfileShare[] {
  const { counts, total } = sampleCounts(profile);
  const frames = new ProfileFrames(profile);
  const byKey = new Map<string, number>();
  for (const node of profile.nodes) {
    const count = counts.get(node.id);
    if (count === undefined) continue;
    const name = key(frames, node);
    byKey.set(name, (byKey.get(name) ?? 0) + count);
  }
  return [...byKey]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([name, count]) => ({ name, share: total === 0 ? 0 : count / total }));
}

/** The `top` functions by self time (samples taken in the function itself), largest first. */
export function selfTimeShares(profile: CpuProfile, top = 25): ProfileShare[] {
  return sharesBy(profile, (frames, node) => frames.functionName(node), top);
}

/** The `top` areas ({@link areaOf}; native code in its JavaScript caller's area) by self time, largest first. */
export function areaShares(profile: CpuProfile, top = 25): ProfileShare[] {
  return sharesBy(profile, (frames, node) => frames.area(node), top);
}
