export { type CountingDriver, countingDriver } from "./counting-driver.js";
export * from "./database.js";
export { type ConformanceTarget, runConformance } from "./run.js";
