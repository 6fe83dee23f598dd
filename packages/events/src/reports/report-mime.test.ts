import { describe, expect, it } from 'vitest';
import { stripTags } from './report-mime.js';

/** What stripTags did with two regular expressions, which rescanned up to 2,000 characters from every `<`. */
function byRegex(html: string): string {
  return html
    .replace(/<(?:br|\/p|\/div|\/tr|\/h\d)[^>]{0,200}>/gi, '\n')
    .replace(/<[^>]{0,2000}>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
}

describe('stripTags', () => {
  it('drops tags as the regular expressions did, block tags becoming line breaks', () => {
    expect(stripTags('<p>Your message to <b>ana@example.com</b><br/>failed.</P><DIV>x</DIV>&lt;a&gt;&amp;&nbsp;')).toBe(
      'Your message to ana@example.com\nfailed.\nx\n<a>& ',
    );
    const cases = [
      '<a <br>',
      '<a <b>',
      `<br${'x'.repeat(200)}>`,
      `<br${'x'.repeat(201)}>`,
      `<${'x'.repeat(2_000)}>`,
      `<${'x'.repeat(2_001)}>`,
      `<x <${'x'.repeat(1_999)}>`,
      '<</div>>',
      '<h1></h1></h>',
    ];
    for (const html of cases) expect(stripTags(html)).toBe(byRegex(html));
  });

  it('gives what the regular expressions gave on random tag soup', () => {
    let state = 7;
    const next = (): number => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
    const tokens = ['<', '>', 'br', 'BR', '/p', '/div', '/DiV', '/tr', '/h1', '/h', 'a', ' ', '\n', '&lt;', '&amp;'];
    for (let round = 0; round < 2_000; round++) {
      let html = '';
      for (let count = Math.floor(next() * 30); count > 0; count--) {
        html += next() < 0.15 ? 'x'.repeat(Math.floor(next() * 2_300)) : tokens[Math.floor(next() * tokens.length)];
      }
      expect(stripTags(html)).toBe(byRegex(html));
    }
  });
});
