/**
 * `yielding(...arbitraries, predicate)`: a drop-in for `fc.property` that yields to the event loop
 * after every run (use with `await fc.assert(...)`), so that thousand-run properties let timers,
 * finalizers and the reporter run between runs. (It was first a workaround for a global WeakRef
 * hash-consing table that pinned every node of a synchronous loop; see docs/architecture.md.)
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
