// Preloaded (node --require) into every Functions Framework process of the serving pool.
"use strict";
const net = require("node:net");

// The framework's CLI listens on every interface and has no host option; an instance is only ever
// reached through the router, so its one server listens on loopback. It tells the pool when it listens.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  net.Server.prototype.listen = listen;
  const port = args[0];
  if ((typeof port === "number" || typeof port === "string") && (args.length === 1 || typeof args[1] === "function")) args.splice(1, 0, "127.0.0.1");
  this.once("listening", () => process.send?.({ listening: this.address().port }));
  return listen.apply(this, args);
};

// The pool is the parent (IPC): an instance never outlives it, even when the pool is SIGKILLed.
process.on("disconnect", () => process.exit(0));
