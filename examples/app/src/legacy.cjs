// A CommonJS module imported from ESM.
const path = require("path");
module.exports = { version: "1.0." + path.basename("/x/2") };
