/**
 * `yielding(...arbitraries, predicate)`: a drop-in for `fc.property` that yields to the event loop
 * after every run (use with `await fc.assert(...)`). Long synchronous loops keep every graph node
 * they build alive until the event loop turns (the hash-consing table's WeakRefs pin their targets
 * for the rest of the job), so thousand-run properties must yield to keep memory flat.
 */
import fc from "fast-check";

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function yielding<Ts extends [unknown, ...unknown[]]>(
  ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => boolean | void]
): fc.IAsyncPropertyWithHooks<Ts> {
  const predicate = args[args.length - 1] as (...values: Ts) => boolean | void;
  const arbs = args.slice(0, -1) as fc.Arbitrary<unknown>[];
  const run = async (...values: unknown[]): Promise<boolean | void> => {
    const r = predicate(...(values as Ts));
    await tick();
    return r;
  };
  return (fc.asyncProperty as unknown as (...a: unknown[]) => fc.IAsyncPropertyWithHooks<Ts>)(...arbs, run);
}
