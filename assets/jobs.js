/* Background jobs (callbacks/jobs.py): a fresh random id for each page load, which names the page's jobs,
 * and, when Cancel is pressed, which run of the job it cancelled (the run's number is its button's clicks). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  coverageMapJobs: {
    pageId: function () {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    },
    cancelled: function (cancelClicks, runClicks) {
      return runClicks || 0;
    },
  },
});
