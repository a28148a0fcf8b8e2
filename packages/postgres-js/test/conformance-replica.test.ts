import { runReplicaConformance } from "@authpg/conformance";
import { createDriver, createStores } from "../src/index.js";

// The whole suite with reads routed to a real streaming replica, and createStores({ replicas }).
await runReplicaConformance({ name: "postgres-js", createDriver: (url) => createDriver(url), createStores });
