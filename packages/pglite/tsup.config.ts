export { library as default } from "../../tsup.library.js";
