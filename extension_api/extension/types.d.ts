// Declarations for the type check (npm run check:extension); not shipped.

// CSS module scripts (`import sheet from "./x.css" with { type: "css" }`) give a stylesheet.
declare module "*.css" {
  const sheet: CSSStyleSheet;
  export default sheet;
}

// Set by content/loader.js so that a second injection into the same frame does nothing.
declare var verityContentLoaded: boolean | undefined;
