// Progressive enhancement for the upload form: drag and drop onto the file box, the chosen
// file's name, and an early warning when it is over the size limit. The form works without it.
(function () {
  "use strict";
  var form = document.querySelector("form[data-max-bytes]");
  if (!form) return;
  var zone = form.querySelector("[data-dropzone]");
  var input = form.querySelector("#id_file");
  var photo = form.querySelector("#id_photo");
  var shown = form.querySelector("[data-chosen]");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);

  function describe(file) {
    if (!file) { shown.textContent = ""; return; }
    var size = file.size >= 1048576 ? (file.size / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(file.size / 1024)) + " KB";
    shown.textContent = file.name + " (" + size + ")";
    if (file.size > maxBytes) { shown.textContent += " — " + form.getAttribute("data-too-large"); }
  }
  [input, photo].forEach(function (field) {
    if (field) field.addEventListener("change", function () { describe(field.files[0]); });
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    if (photo) photo.value = "";
    describe(input.files[0]);
  });
})();
