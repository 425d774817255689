// Swagger UI over this server's own OpenAPI document (files from the swagger-ui-bundle package: no CDN).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayOperationId: true,
    tryItOutEnabled: false,
    validatorUrl: null,  // the online validator badge would call out to the internet
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
