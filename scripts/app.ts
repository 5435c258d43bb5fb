/**
 * `npm run app`: the demo story up to a live state on the embedded Hardhat network (scripts/lib/app-story.ts), and
 * the gateway serving the web app on 127.0.0.1 until Ctrl-C. Builds the app first when dist-app/ is missing or older than app/.
 * PORT sets the port (default 8600; 0 for any free one).
 */
import { ethers } from "hardhat";
import { startAppStory } from "./lib/app-story";
import { ensureAppBuilt } from "./lib/build-app";

async function main(): Promise<void> {
  const appRoot = await ensureAppBuilt();
  const story = await startAppStory({
    signers: await ethers.getSigners(),
    provider: ethers.provider,
    appRoot,
    port: Number(process.env.PORT ?? 8600),
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`\nThe web app: ${story.url}`);
  console.log("Sign in with a demo account (their keys are in the page: demo accounts only). Ctrl-C stops.");
  const stop = () => {
    story.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await new Promise<never>(() => undefined);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
