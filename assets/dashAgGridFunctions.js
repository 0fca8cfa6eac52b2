/* Functions the dashboard's grids name in their column definitions and event listeners (dash-ag-grid looks
 * them up on window.dashAgGridFunctions). */
(function () {
  "use strict";
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

  /* The gap table's keyboard operation (WCAG 2.1.1): Enter or Space on a focused cell selects its unit, as a
   * click on the row does. It reports the same `cellClicked` a click reports, so one Dash callback serves both. */
  dagfuncs.selectOnKey = function (params, setGridProps) {
    var event = params.event;
    if (!event || (event.key !== "Enter" && event.key !== " ") || !params.node || params.node.id == null) {
      return;
    }
    event.preventDefault();  // Space would scroll the grid
    setGridProps({
      cellClicked: {
        value: params.value,
        colId: params.column ? params.column.getColId() : null,
        rowIndex: params.rowIndex,
        rowId: params.node.id,
        timestamp: Date.now(),
      },
    });
  };

  /* The Severity column sorts by tier (severe, moderate, watch, no gap, not in the directory), then by unmet
   * need: the rows' rank, which the server gives in that order. Sorting its words would put "Watch" last. */
  dagfuncs.bySeverity = function (valueA, valueB, nodeA, nodeB) {
    var a = nodeA && nodeA.data ? nodeA.data.rank : 0;
    var b = nodeB && nodeB.data ? nodeB.data.rank : 0;
    return a - b;
  };
})();
