// Stands in for the `debug` package inside the bundle. require-in-the-middle logs through it only
// when DEBUG=require-in-the-middle is set; loading the real package costs about 5 ms of CPU at
// every cold start (it probes the terminal and looks for optional packages). Returns loggers
// that are always disabled.
'use strict';

module.exports = function createDebug() {
  function log() {}
  log.enabled = false;
  log.extend = createDebug;
  return log;
};
module.exports.enabled = () => false;
