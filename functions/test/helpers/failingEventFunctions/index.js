// Event functions whose handler always throws (the Functions Framework answers 500), served by
// eventDispatcherProcess.mjs to test the events dispatcher's retries and give-ups.
"use strict";

const fail = (event) => {
  // The test counts the attempts that reached the function by this line.
  console.log(`handling event ${event.id}`);
  throw new Error(`event ${event.id} cannot be handled`);
};

module.exports = { retriedHandler: fail, unretriedHandler: fail };
