/**
 * Synchronous access to Node built-ins (`node:fs`, `node:zlib`, ...) without a static import, so
 * `tenfold/train` still bundles for browsers: `process.getBuiltinModule` (Node >= 20.16).
 */

/** The Node built-in `name`, or a clear error naming `who` outside Node. */
export function nodeModule<T>(name: string, who: string): T {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(name);
  if (mod === undefined) throw new Error(`${who}: needs Node.js >= 20.16 (${name} is not available here)`);
  return mod as T;
}
