import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hunkRanges, isOwnBranch, isSourcePath, queryOf } from '../../models/training/issue-history';

test('issue history: queries, source files, branches and gold follow the evaluation set\'s selection rules', () => {
  // A PR merge: the body without trailers, pre-commit.ci lines, separators or empty bullets.
  const merge = queryOf(
    'Merge pull request #557 from Nudies/master\n\nFix the usage error\n\n* [pre-commit.ci] auto fixes from pre-commit.com hooks\n\nfor more information, see https://pre-commit.ci\n*\n----------\nCo-authored-by: A <a@b>\n\n\nMore text',
    2,
  );
  assert.deepEqual(merge, { query: 'Fix the usage error\n\nMore text', pr: '557', head: 'Nudies/master' });
  assert.equal(queryOf('Merge pull request #5 from x/y\n\nbody', 1), null, 'a merge subject needs two parents');
  // A squash merge: the subject without (#N), then the body; a "Merge ..." subject is not one.
  assert.deepEqual(queryOf('Speed up __eq__ (#1234)\n\n* Speed up __eq__', 1), { query: 'Speed up __eq__\n\n* Speed up __eq__', pr: '1234', head: undefined });
  assert.equal(queryOf('Merge branch main (#12)', 1), null);
  assert.equal(queryOf('Plain commit', 1), null);
  assert.ok(queryOf(`Long (#1)\n\n${'word '.repeat(400)}`, 1)!.query.length <= 1500);
  // Only the project's own release branches are left out, not a fork's master.
  assert.ok(isOwnBranch('pallets/stable', 'pallets/click'));
  assert.ok(isOwnBranch('8.1.x', 'pallets/click'));
  assert.ok(!isOwnBranch('Nudies/master', 'pallets/click'));
  assert.ok(!isOwnBranch('pallets/fix-help', 'pallets/click'));
  // Source files.
  assert.ok(isSourcePath('src/click/testing.py'));
  assert.ok(!isSourcePath('tests/test_basic.py'));
  assert.ok(!isSourcePath('src/attr/test_x.py'));
  assert.ok(!isSourcePath('docs/conf.py'));
  assert.ok(!isSourcePath('CHANGES.rst'));
  assert.ok(!isSourcePath('source/index.test.ts'));
  // Gold: pre-image ranges; an insertion is the line before it (1 at the top); overlaps merged.
  assert.deepEqual(hunkRanges('@@ -10,2 +10,3 @@\n@@ -20,0 +22 @@\n@@ -0,0 +1,2 @@\n@@ -11 +13 @@\n'), [[1, 1], [10, 11], [20, 20]]);
});
