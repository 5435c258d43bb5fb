/**
 * Stands in for the Node modules (file system, SQLite, native bindings) that the shared modules import for their
 * server side: the browser never calls them, and a call says so instead of failing obscurely.
 */
function unavailable(): never {
  throw new Error("not available in the browser");
}
const handler: ProxyHandler<object> = { get: (_target, key) => (key === "__esModule" ? false : unavailable) };
const stub: Record<string, unknown> = new Proxy({}, handler) as Record<string, unknown>;
export default stub;
export const createHash = unavailable;
export const readFile = unavailable;
export const readFileSync = unavailable;
export const writeFileSync = unavailable;
export const mkdirSync = unavailable;
export const existsSync = unavailable;
export const chmodSync = unavailable;
export const closeSync = unavailable;
export const openSync = unavailable;
export const statSync = unavailable;
export const stat = unavailable;
export const unlink = unavailable;
export const mkdir = unavailable;
export const open = unavailable;
export const rename = unavailable;
export const link = unavailable;
export const readdir = unavailable;
export const rm = unavailable;
export const rmdir = unavailable;
export const join = unavailable;
export const resolve = unavailable;
export const dirname = unavailable;
export const basename = unavailable;
export const fileURLToPath = unavailable;
export const createReadStream = unavailable;
export const createWriteStream = unavailable;
export const pipeline = unavailable;
export const Readable = unavailable;
export const Pool = unavailable;
export const Client = unavailable;
export const types = stub;
export const escapeLiteral = unavailable;
