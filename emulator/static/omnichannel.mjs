/* The reference getConversations as an ES module, for browsers (<script type="module">, import from
 * "/omnichannel.mjs"), bundlers and Node alike: named exports and a default export of the same API.
 * The code is omnichannel.js's; this file only re-exports it. Under Node the CommonJS file's exports arrive as the
 * namespace's default; in a browser the file runs as a classic module and leaves its API on globalThis. */
import * as loaded from "./omnichannel.js";

const api = loaded.default && loaded.default.createOmnichannel ? loaded.default : globalThis.OmnichannelClient;

export const createOmnichannel = api.createOmnichannel;
export const buildQuery = api.buildQuery;
export const INVALID_ARGUMENT = api.INVALID_ARGUMENT;
export const NETWORK_ERROR = api.NETWORK_ERROR;
export default api;
