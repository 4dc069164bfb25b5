// Light/dark/auto theme, applied before first paint (loaded in <head>, no inline script: CSP).
(function () {
  var stored = null;
  try { stored = localStorage.getItem('cloudy-theme'); } catch (e) { /* private mode */ }
  var choice = stored === 'light' || stored === 'dark' ? stored : 'auto';
  var dark = choice === 'dark' || (choice === 'auto' && window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.setAttribute('data-bs-theme', dark ? 'dark' : 'light');
  document.documentElement.setAttribute('data-theme-choice', choice);
})();
