// Small progressive enhancements; every page works without them.
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-theme-value]');
  if (!button) return;
  var value = button.getAttribute('data-theme-value');
  try { if (value === 'auto') localStorage.removeItem('cloudy-theme'); else localStorage.setItem('cloudy-theme', value); } catch (e) { /* ignore */ }
  var dark = value === 'dark' || (value === 'auto' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.setAttribute('data-bs-theme', dark ? 'dark' : 'light');
  document.documentElement.setAttribute('data-theme-choice', value);
});
