/**
 * dependency-cruiser rules for src/: no import cycles, and the layer order
 * core -> ops -> transforms -> scheduler/engine -> backends -> nn/optim/train
 * (a module may import its own layer and the layers before it, never a later one).
 * Entry points (src/index.ts) may import anything; type-only imports are allowed across layers
 * (they are erased at compile time). Run by `npm run lint`.
 */
const layers = [
  { name: "core", path: "^src/core/" },
  { name: "ops", path: "^src/(ops|random)/" },
  { name: "transforms", path: "^src/transforms/" },
  { name: "scheduler", path: "^src/scheduler/" },
  { name: "backends", path: "^src/backends/" },
  { name: "library", path: "^src/(nn|optim|train|metrics|io)/" },
];

const forbidden = [
  {
    name: "no-circular",
    severity: "error",
    comment: "Import cycles make module initialization order fragile: break the cycle.",
    from: { path: "^src/" },
    // Type-only imports are erased at compile time and cannot form a runtime cycle.
    to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
  },
];
layers.forEach((layer, i) => {
  const later = layers.slice(i + 1).map((l) => l.path.replace(/\/$/, "").replace("^", ""));
  if (later.length === 0) return;
  forbidden.push({
    name: `layer-${layer.name}`,
    severity: "error",
    comment: `${layer.name} must not import a later layer (order: ${layers.map((l) => l.name).join(" -> ")}).`,
    from: { path: layer.path },
    to: { path: `^(${later.join("|")})/`, dependencyTypesNot: ["type-only"] },
  });
});

// eslint-disable-next-line no-undef -- CommonJS config file
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
