/**
 * Long-running commands a check starts and stops (a browser UI, the
 * cluster's page): started in a process group of their own, so that
 * stopping one stops everything it started.
 */
import { spawn } from "node:child_process";

/** Start a long-running command and wait for a line of its output that matches. */
export function startServer(args: readonly string[], cwd: string, ready: RegExp, withinMs: number): Promise<{ match: RegExpExecArray; output: () => string; stop: () => Promise<void> }> {
  const child = spawn("npm", ["run", ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, detached: true });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`npm run ${args.join(" ")} printed nothing matching ${ready} within ${withinMs / 1000} s:\n${output}`));
    }, withinMs);
    const stop = async (): Promise<void> => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      await new Promise((r) => setTimeout(r, 300));
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ match, output: () => output, stop });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`npm run ${args.join(" ")} ended:\n${output}`));
    });
  });
}
