"""The page's CSS and script (one document-level click handler): `#t=<seconds>` links anywhere (answer,
steps, citations) seek the full-video player; a click on the affect strip seeks too and arms the
"What happens here?" button with that window; a red cursor on the strip follows the player; a new answer's
first moment is sought once (the strip's data-seek); the chat scrolls to its newest reply; when the strip
shows another video, the "What happens here?" button forgets the old window."""

CSS = """
.al-hidden {display: none !important}
.al-badge {font-size: 0.95em}
#al-chat {min-height: 460px}
body, .gradio-container {overflow-x: hidden}
#al-player video {width: 100%; max-height: 360px; background: #000; border-radius: 6px}
.al-player-caption {font-size: 12px; color: #666; margin-top: 2px}
.al-strip {position: relative; font-size: 12px; user-select: none; padding-bottom: 2px}
.al-strip-empty {color: #777; padding: 8px 0}
.al-row {display: flex; align-items: center; margin: 2px 0}
.al-row-label {width: 64px; flex: none; color: #666; font-size: 11px}
.al-track {position: relative; flex: 1; height: 18px; background: #f1f1f1; border-radius: 3px; overflow: hidden}
.al-axis {background: none; height: 16px; overflow: visible}
.al-seg {position: absolute; top: 0; bottom: 0; cursor: pointer; min-width: 2px}
.al-speech {background: #5b8def}
.al-noface {background: repeating-linear-gradient(45deg, #bdbdbd, #bdbdbd 3px, #eee 3px, #eee 6px)}
.al-cand {background: #777; opacity: .35}
.al-chosen {background: #f4a300; color: #000; font-weight: bold; text-align: center; font-size: 11px;
            line-height: 18px; box-shadow: inset 0 0 0 1px #a86d00; overflow: hidden}
.al-seg:hover {outline: 2px solid #222; z-index: 2}
.al-seg.al-picked {outline: 2px solid #d00; z-index: 3}
.al-tick {position: absolute; transform: translateX(-50%); font-size: 10px; color: #666; white-space: nowrap}
.al-tick:first-child {transform: none}
.al-key {display: inline-block; width: 10px; height: 10px; margin: 0 2px 0 6px; border-radius: 2px}
.al-legend {font-size: 11px; color: #555; margin-top: 4px; line-height: 1.6}
.al-cursor {position: absolute; top: 0; width: 2px; background: #d00; pointer-events: none; z-index: 4}
.al-progress {font-size: 13px; padding: 4px 2px; min-height: 22px}
.al-progress[data-state=idle] {color: #777}
.al-progress[data-state=stopped] .al-stage, .al-progress[data-state=error] .al-stage {color: #b00020}
.al-bar {height: 6px; background: #eee; border-radius: 3px; overflow: hidden; margin-bottom: 3px}
.al-bar > div {height: 100%; background: #f97316; transition: width .4s}
table.al-cite {width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 13px}
table.al-cite th, table.al-cite td {border-bottom: 1px solid #ddd; padding: 4px; vertical-align: top;
                                    overflow-wrap: anywhere; white-space: normal}
table.al-cite th:nth-child(1) {width: 28px}
table.al-cite th:nth-child(3) {width: 140px}
#al-crops .caption-label, #al-crops figcaption, #al-crops .caption {white-space: normal !important;
    overflow: visible !important; text-overflow: clip !important; font-size: 11px; line-height: 1.25}
#al-flow-text, #al-header {overflow-wrap: anywhere}
"""

HEAD = """
<script>
(function () {
  if (window.__alInstalled) return; window.__alInstalled = true;
  function video() { return document.querySelector('#al-player video'); }
  function fmt(t) { t = Math.round(t); const h = Math.floor(t / 3600), m = Math.floor(t % 3600 / 60), s = t % 60;
    return [h, m, s].map(x => String(x).padStart(2, '0')).join(':'); }
  function seek(t) {
    const v = video(); if (!v) return false;
    v.currentTime = t; window.__alLastSeek = t;
    v.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    return true;
  }
  window.alSeek = seek;
  document.addEventListener('click', function (e) {
    const a = e.target.closest && e.target.closest('a[href*="#t="]');
    if (a) {
      const m = (a.getAttribute('href') || '').match(/#t=([0-9.]+)/);
      if (m) { e.preventDefault(); e.stopPropagation(); seek(parseFloat(m[1])); }
      return;
    }
    const s = e.target.closest && e.target.closest('.al-seg[data-t]');
    if (!s) return;
    const t = parseFloat(s.dataset.t), end = parseFloat(s.dataset.end);
    const own = s.closest('.al-strip');  // the strip clicked is the current video's: the reset below keeps this pick
    if (own) window.__alKey = own.dataset.key || '';
    seek(t);
    const box = document.querySelector('#al-here-span textarea, #al-here-span input');
    if (box) { box.value = t.toFixed(2) + '-' + end.toFixed(2); box.dispatchEvent(new Event('input', {bubbles: true})); }
    const b = document.querySelector('#al-here');
    if (b) { b.textContent = 'What happens at ' + fmt(t) + '–' + fmt(end) + '?'; }
    document.querySelectorAll('.al-seg.al-picked').forEach(x => x.classList.remove('al-picked'));
    s.classList.add('al-picked');
  }, true);
  function chatBox() {  // the chat's scrolling element (Gradio's inner wrapper, whichever it is)
    const root = document.querySelector('#al-chat'); if (!root) return null;
    const all = [root, ...root.querySelectorAll('*')];
    return all.find(el => el.scrollHeight > el.clientHeight + 4 &&
                          /(auto|scroll)/.test(getComputedStyle(el).overflowY)) || null;
  }
  setInterval(function () {  // the newest reply in view: scroll the chat down when it grew
    const c = chatBox(); if (!c) return;
    if (c.scrollHeight !== c.__alHeight) { c.__alHeight = c.scrollHeight; c.scrollTop = c.scrollHeight; }
  }, 250);
  setInterval(function () {
    const st0 = document.querySelector('#al-strip .al-strip');
    const key = st0 ? (st0.dataset.key || '') : '';
    if (key !== window.__alKey) {  // another video (or none): its "what happens here" window is gone
      window.__alKey = key;
      const b = document.querySelector('#al-here');
      if (b) b.textContent = 'What happens here? (click the strip first)';
      document.querySelectorAll('.al-seg.al-picked').forEach(x => x.classList.remove('al-picked'));
    }
    const sk = st0 ? (st0.dataset.seek || '') : '';
    if (sk && sk !== window.__alSeekDone && video()) {  // a new answer: the player goes to its first moment
      window.__alSeekDone = sk; seek(parseFloat(sk.split(':')[0]));
    }
    const v = video(), st = document.querySelector('#al-strip .al-strip[data-duration]');
    if (!v || !st) return;
    const track = st.querySelector('.al-track'); if (!track) return;
    let c = st.querySelector('.al-cursor');
    if (!c) { c = document.createElement('div'); c.className = 'al-cursor'; st.appendChild(c); }
    const dur = parseFloat(st.dataset.duration) || v.duration || 1;
    c.style.left = (track.offsetLeft + track.offsetWidth * Math.min(1, v.currentTime / dur)) + 'px';
    c.style.height = (st.querySelector('.al-axis') || track).offsetTop + 'px';
  }, 400);
})();
</script>
"""
