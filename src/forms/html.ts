import { escapeHtml } from '../html-text.ts';

/**
 * Small HTML building blocks for the pages Leadline serves itself (hosted forms, thank-you and
 * error pages; landing pages reuse them). Every dynamic text goes through `escapeHtml`.
 */

// The one escape of src/html-text.ts, re-exported for the pages built on these blocks.
export { escapeHtml };

/**
 * The styles of a rendered form: readable on phones, visible focus, errors in red with an icon
 * (not by colour alone), the honeypot moved off screen rather than `display: none` (some bots
 * skip fields that are not displayed).
 */
export const formStyles = `
.ll-form{max-width:34rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
.ll-form .ll-field{margin:0 0 1rem}
.ll-form label,.ll-form legend{display:block;font-weight:600;margin:0 0 .25rem}
.ll-form fieldset{border:0;margin:0;padding:0}
.ll-form .ll-choice{display:flex;gap:.5rem;align-items:flex-start;font-weight:400;margin:.25rem 0}
.ll-form .ll-choice input{margin-top:.3rem}
.ll-form input[type=text],.ll-form input[type=email],.ll-form input[type=tel],.ll-form input[type=number],
.ll-form select,.ll-form textarea{box-sizing:border-box;width:100%;padding:.55rem .65rem;border:1px solid #8c959f;
border-radius:6px;font:inherit;background:#fff;color:inherit}
.ll-form textarea{min-height:7rem}
.ll-form :focus-visible{outline:3px solid #0969da;outline-offset:1px}
.ll-form .ll-help{color:#57606a;font-size:.875rem;margin:.25rem 0 0}
.ll-form .ll-error{color:#b3261e;font-size:.875rem;margin:.25rem 0 0;font-weight:600}
.ll-form .ll-error::before{content:"⚠ "}
.ll-form [aria-invalid=true]{border-color:#b3261e;border-width:2px}
.ll-form .ll-summary{border:2px solid #b3261e;border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem}
.ll-form .ll-summary h2{font-size:1rem;margin:0 0 .5rem}
.ll-form .ll-summary a{color:#b3261e}
.ll-form .ll-required{color:#b3261e}
.ll-form .ll-consent{font-size:.9rem}
.ll-form button{font:inherit;font-weight:600;padding:.65rem 1.25rem;border:0;border-radius:6px;background:#0969da;
color:#fff;cursor:pointer}
.ll-form button:hover{background:#0550ae}
.ll-form .ll-hp{position:absolute!important;left:-10000px!important;top:auto;width:1px;height:1px;overflow:hidden}
`;

const pageStyles = `
body{margin:0;padding:2rem 1rem;background:#f6f8fa;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
main{max-width:36rem;margin:0 auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem 1.5rem 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}
a{color:#0969da}
`;

export interface DocumentParts {
  title: string;
  /** HTML of the page's `<main>`, already escaped where needed. */
  body: string;
  /** `lang` of the page. (Default: en) */
  lang?: string | undefined;
}

/** A whole HTML page around `body`, with the form styles; no script. */
export function htmlDocument({ title, body, lang = 'en' }: DocumentParts): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${pageStyles}${formStyles}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A page with a heading and a message (thank-you, closed form, errors); `extra` is trusted HTML. */
export function messagePage(title: string, message: string, extra = ''): string {
  return htmlDocument({
    title,
    body: `<h1>${escapeHtml(title)}</h1>\n<p role="status">${escapeHtml(message)}</p>\n${extra}`,
  });
}
