// mermaid-cli pulls in Puppeteer. Never let it download a browser: the
// diagrams are rendered with Debian's chromium (see scripts/learner/diagrams.ts).
module.exports = { skipDownload: true };
