/** What the server (scripts/learner/visualize.ts) hands the page: the chapter, the node it runs, a replayed test's recording. */
declare module "virtual:raft-page-config" {
  const config: import("./protocol.ts").PageConfig;
  export default config;
}

/** The node file compiled as the terminal compiles it (CommonJS, types stripped), or why it could not be: for the run worker. */
declare module "virtual:raft-node" {
  export const nodeFile: { readonly code: string; readonly label: string; readonly problem?: string };
  /** Chapter 8 on: the clients' clerk.ts, compiled the same way (absent before Chapter 8, or when there is none). */
  export const clerkFile: { readonly code: string; readonly label: string; readonly problem?: string } | undefined;
}
