// pydata-sphinx-theme takes the colour mode from localStorage and logs a console error on a
// first visit, when nothing is stored yet; start such a visit from the theme's "auto" mode.
if (!document.documentElement.dataset.mode) {
  document.documentElement.dataset.mode = "auto";
}
