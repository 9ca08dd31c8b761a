/**
 * The browser-wide privacy signals t.js and embed.js honour: Global Privacy Control
 * (`navigator.globalPrivacyControl`) and Do Not Track (`'1'`, or `'yes'` in old Firefox; IE
 * kept it on `window` or as `msDoNotTrack`). With either on, no anonymous id is kept or sent.
 */
export function privacySignalOn(): boolean {
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean; msDoNotTrack?: string };
  const dnt = nav.doNotTrack ?? (window as { doNotTrack?: string }).doNotTrack ?? nav.msDoNotTrack;
  return nav.globalPrivacyControl === true || dnt === '1' || dnt === 'yes';
}

/** The `<script>` tag of t.js on this page, if the site has one (found the way t.js finds itself). */
export const TRACKER_TAG = 'script[data-workspace][src*="t.js"]';
