// ES module entry: import { connect } from "/watchcast.mjs";
import "./watchcast.js";
export const connect = globalThis.Watchcast.connect;
export default globalThis.Watchcast;
