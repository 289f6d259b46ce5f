// Markdown to safe HTML for the model's replies: marked (GitHub-flavoured markdown), highlight.js for
// fenced code; raw HTML in the text is escaped (shown as written), and DOMPurify goes over the result
// as a second line (a model's output is untrusted text: no script, no handlers).
// Needs a DOM (DOMPurify), so it runs in the page, not in node's unit tests.

import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import plaintext from 'highlight.js/lib/languages/plaintext';

for (const [name, lang] of Object.entries({ bash, c, cpp, javascript, json, python, rust, typescript, xml, plaintext })) {
  hljs.registerLanguage(name, lang);
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // A model's raw HTML is shown as the text it wrote ("<s", "<div>"), never parsed as markup.
    html({ text }) {
      return escapeHtml(text);
    },
    code({ text, lang }) {
      const name = (lang ?? '').trim().split(/\s+/)[0].toLowerCase();
      let html;
      if (name && hljs.getLanguage(name)) {
        html = hljs.highlight(text, { language: name, ignoreIllegals: true }).value;
      } else {
        html = escapeHtml(text);
      }
      const cls = name ? ` class="hljs language-${escapeHtml(name)}"` : ' class="hljs"';
      return `<pre><code${cls}>${html}</code></pre>\n`;
    },
  },
});

export function renderMarkdown(text) {
  const html = marked.parse(text ?? '', { async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}
