// The globals Cloudflare's nodejs_compat defines beside its modules: `Buffer` and `process`,
// as writable, non-enumerable properties of globalThis (a tenant may replace them). Evaluated
// before a bundle's main module when one of its modules names either (see rust/js/bundle.rs).
import { Buffer } from "node:buffer";
import process from "node:process";

for (const [name, value] of [["Buffer", Buffer], ["process", process]]) {
  if (!Object.prototype.hasOwnProperty.call(globalThis, name)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
