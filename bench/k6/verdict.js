// What a scarcity run must end with, apart from k6 (no k6 import) so the tests can call it directly.

/**
 * The problems with a settled (or timed-out) scarcity run; none means it passed.
 *   open: the run's orders still pending or reserved; reserved: the product's reserved units;
 *   sold: units in the run's processed and shipped orders; supplied: units ever put on the
 *   product other than by an order (its initial stock, adjustments, warehouse syncs).
 */
export function scarcityProblems(outcome) {
  const problems = [];
  if (outcome.open > 0 || outcome.reserved > 0) {
    problems.push(
      'not settled after ' + outcome.waitedSeconds + ' s: ' + outcome.open + ' orders still pending or reserved, reserved = ' + outcome.reserved + ' (expected 0)',
    );
  }
  if (outcome.sold > outcome.supplied) problems.push('oversold: ' + outcome.sold + ' units sold, only ' + outcome.supplied + ' ever in stock');
  return problems;
}
