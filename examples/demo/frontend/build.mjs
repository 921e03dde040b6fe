// A stand-in for an Astro build: renders src/ into dist/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const page = readFileSync("src/index.html", "utf8").replace("{{built}}", new Date().toISOString());
mkdirSync("dist", { recursive: true });
writeFileSync("dist/index.html", page);
console.log("built dist/index.html");
