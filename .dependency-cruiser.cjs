/**
 * The layer order of src/ (src/README.md explains each folder). A folder may import its own
 * files and the folders of lower layers; folders of one layer do not import each other.
 * `npm run lint` runs these rules; there are no exceptions.
 */
const LAYERS = [
  ['core'],
  ['observability'],
  ['codecs'],
  ['connectors'],
  ['outputs'],
  ['training'],
  ['registry'],
  ['inference'],
  ['thresholds'],
  ['operators'],
  ['retrain', 'replay', 'eval'],
  ['config'],
  ['app'],
  ['cli'],
];

const upward = LAYERS.flatMap((layer, rank) => {
  const higher = LAYERS.slice(rank + 1).flat();
  return layer.map((folder) => ({
    name: `layer-${folder}`,
    comment: `src/${folder} may not import a folder of a higher layer (${higher.join(', ') || 'none'})`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: higher.length ? `^src/(${higher.join('|')})/` : '^$' },
  }));
});

const siblings = LAYERS.filter((layer) => layer.length > 1).flatMap((layer) =>
  layer.map((folder) => ({
    name: `siblings-${folder}`,
    comment: `src/${folder} may not import its sibling layer folders`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: `^src/(${layer.filter((f) => f !== folder).join('|')})/` },
  })),
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles between files',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'known-folders',
      comment: 'every file of src/ lives in a folder of the layer order',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${LAYERS.flat().join('|')})/` },
      to: {},
    },
    ...upward,
    ...siblings,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
