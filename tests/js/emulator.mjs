// The live emulator the node tests talk to (EMULATOR_URL), and a DynamicsWebApi client for it.
import assert from "node:assert/strict";
import { DynamicsWebApi } from "dynamics-web-api";

export const SERVER = process.env.EMULATOR_URL;
assert.ok(SERVER, "EMULATOR_URL must name the live emulator, e.g. http://127.0.0.1:5555");
export const API = `${SERVER}/api/data/v9.2/`;

export const api = new DynamicsWebApi({
  serverUrl: SERVER,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => "dummy-token",
  timeout: 10000,
});
