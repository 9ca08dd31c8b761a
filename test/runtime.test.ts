import assert from 'node:assert/strict';
import { it } from 'node:test';

it('runs on the Node that package.json brings (24), not the machine default', () => {
  const major = Number(process.versions.node.split('.')[0]);
  // npm scripts put node_modules/.bin (the `node` devDependency, Node 24) first on the PATH.
  assert.equal(major, 24, `tests ran on Node ${process.versions.node}`);
});
