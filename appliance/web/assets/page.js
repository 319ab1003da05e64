// pnpbox page: the table refreshes itself, and Generate fills a password
// field. Everything works without this file, through plain forms and links.
'use strict';
(function () {
  const live = document.getElementById('live');
  if (live) {
    setInterval(async function () {
      if (document.hidden || live.contains(document.activeElement)) return;
      try {
        const r = await fetch(live.dataset.src, {credentials: 'same-origin', cache: 'no-store'});
        if (r.status === 401) { location.reload(); return; }
        if (r.ok) live.innerHTML = await r.text();
      } catch (e) { /* the box restarts: try again next time */ }
    }, 2000);
  }
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  for (const b of document.querySelectorAll('button.gen')) {
    b.hidden = false;
    b.addEventListener('click', function () {
      const f = document.getElementById(b.dataset.for);
      const r = new Uint32Array(20);
      crypto.getRandomValues(r);
      f.value = Array.from(r, function (x) { return letters[x % letters.length]; }).join('');
      f.type = 'text';
      f.select();
    });
  }
})();
