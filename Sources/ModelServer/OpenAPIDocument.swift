/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`. A test checks that
/// it names exactly the routes the router has, and that the answers match it.
enum OpenAPIDocument {
    static let json = #"""
        {
         "openapi": "3.1.0",
         "info": {
          "title": "swift-model-server",
          "version": "\#(ServerInfo.version)",
          "description": "An ONNX image classifier over HTTP: the original Flask app's contract, KServe V1 and the Open Inference Protocol (V2)."
         },
         "paths": {
          "/": {
           "get": {
            "summary": "Liveness (the Flask app's probe)",
            "responses": {
             "200": {
              "description": "Healthy",
              "content": {
               "text/plain": {
                "schema": {
                 "type": "string",
                 "const": "Healthy"
                }
               }
              }
             }
            }
           }
          },
          "/version": {
           "get": {
            "summary": "Server and model version",
            "responses": {
             "200": {
              "description": "Versions",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Version"
                }
               }
              }
             }
            }
           }
          },
          "/metrics": {
           "get": {
            "summary": "Prometheus metrics",
            "responses": {
             "200": {
              "description": "Prometheus text format",
              "content": {
               "text/plain": {
                "schema": {
                 "type": "string"
                }
               }
              }
             }
            }
           }
          },
          "/openapi.json": {
           "get": {
            "summary": "This document",
            "responses": {
             "200": {
              "description": "OpenAPI 3.1",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object"
                }
               }
              }
             }
            }
           }
          },
          "/v2/health/live": {
           "get": {
            "summary": "Liveness",
            "responses": {
             "200": {
              "description": "Live"
             }
            }
           }
          },
          "/v2/health/ready": {
           "get": {
            "summary": "Readiness: model loaded and warmed up",
            "responses": {
             "200": {
              "description": "Ready"
             },
             "503": {
              "description": "Not ready"
             }
            }
           }
          },
          "/score": {
           "post": {
            "summary": "Top-3 labels per image (the original Flask contract)",
            "requestBody": {
             "required": true,
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/ScoreRequest"
               }
              }
             }
            },
            "responses": {
             "200": {
              "description": "Labels and percentages",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/ScoreResponse"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/Error"
             },
             "413": {
              "$ref": "#/components/responses/Error"
             },
             "415": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v1/models/{model}": {
           "get": {
            "summary": "KServe V1 model status",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             }
            ],
            "responses": {
             "200": {
              "description": "Ready",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "name": {
                   "type": "string"
                  },
                  "ready": {
                   "type": "boolean"
                  }
                 }
                }
               }
              }
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v1/models/{model}:predict": {
           "post": {
            "summary": "KServe V1 prediction: raw logits per instance",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             }
            ],
            "requestBody": {
             "required": true,
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/V1Request"
               }
              }
             }
            },
            "responses": {
             "200": {
              "description": "Logits",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "predictions": {
                   "type": "array",
                   "items": {
                    "type": "array",
                    "items": {
                     "type": "number"
                    }
                   }
                  }
                 }
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/Error"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "413": {
              "$ref": "#/components/responses/Error"
             },
             "415": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v1/models/{model}:classify": {
           "post": {
            "summary": "Images in, labels out",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             },
             {
              "name": "top_k",
              "in": "query",
              "schema": {
               "type": "integer",
               "minimum": 1,
               "maximum": 1000,
               "default": 5
              }
             }
            ],
            "requestBody": {
             "required": true,
             "content": {
              "image/jpeg": {
               "schema": {
                "type": "string",
                "format": "binary"
               }
              },
              "image/png": {
               "schema": {
                "type": "string",
                "format": "binary"
               }
              },
              "multipart/form-data": {
               "schema": {
                "type": "object",
                "additionalProperties": {
                 "type": "string",
                 "format": "binary"
                }
               }
              }
             }
            },
            "responses": {
             "200": {
              "description": "Top-k per image",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/ClassifyResponse"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/Error"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "413": {
              "$ref": "#/components/responses/Error"
             },
             "415": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v2": {
           "get": {
            "summary": "Server metadata",
            "responses": {
             "200": {
              "description": "Name, version, extensions",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "name": {
                   "type": "string"
                  },
                  "version": {
                   "type": "string"
                  },
                  "extensions": {
                   "type": "array",
                   "items": {
                    "type": "string"
                   }
                  }
                 }
                }
               }
              }
             }
            }
           }
          },
          "/v2/models/{model}": {
           "get": {
            "summary": "Model metadata",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             }
            ],
            "responses": {
             "200": {
              "$ref": "#/components/responses/ModelMetadata"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v2/models/{model}/ready": {
           "get": {
            "summary": "Model readiness",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             }
            ],
            "responses": {
             "200": {
              "description": "Ready"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             }
            }
           }
          },
          "/v2/models/{model}/infer": {
           "post": {
            "summary": "Open Inference Protocol inference (JSON, or JSON + binary tensors with Inference-Header-Content-Length)",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             }
            ],
            "requestBody": {
             "$ref": "#/components/requestBodies/Infer"
            },
            "responses": {
             "200": {
              "$ref": "#/components/responses/Infer"
             },
             "400": {
              "$ref": "#/components/responses/Error"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "413": {
              "$ref": "#/components/responses/Error"
             },
             "415": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v2/models/{model}/versions/{version}": {
           "get": {
            "summary": "Model metadata (one version)",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             },
             {
              "$ref": "#/components/parameters/Version"
             }
            ],
            "responses": {
             "200": {
              "$ref": "#/components/responses/ModelMetadata"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          },
          "/v2/models/{model}/versions/{version}/ready": {
           "get": {
            "summary": "Model readiness (one version)",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             },
             {
              "$ref": "#/components/parameters/Version"
             }
            ],
            "responses": {
             "200": {
              "description": "Ready"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             }
            }
           }
          },
          "/v2/models/{model}/versions/{version}/infer": {
           "post": {
            "summary": "Open Inference Protocol inference (JSON, or JSON + binary tensors with Inference-Header-Content-Length)",
            "parameters": [
             {
              "$ref": "#/components/parameters/Model"
             },
             {
              "$ref": "#/components/parameters/Version"
             }
            ],
            "requestBody": {
             "$ref": "#/components/requestBodies/Infer"
            },
            "responses": {
             "200": {
              "$ref": "#/components/responses/Infer"
             },
             "400": {
              "$ref": "#/components/responses/Error"
             },
             "404": {
              "$ref": "#/components/responses/Error"
             },
             "413": {
              "$ref": "#/components/responses/Error"
             },
             "415": {
              "$ref": "#/components/responses/Error"
             },
             "503": {
              "$ref": "#/components/responses/Error"
             },
             "401": {
              "$ref": "#/components/responses/Error"
             }
            },
            "security": [
             {
              "bearerAuth": []
             },
             {
              "apiKeyHeader": []
             },
             {}
            ]
           }
          }
         },
         "components": {
          "requestBodies": {
           "Infer": {
            "required": true,
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/InferRequest"
              }
             },
             "application/octet-stream": {
              "schema": {
               "type": "string",
               "format": "binary"
              }
             }
            }
           }
          },
          "parameters": {
           "Model": {
            "name": "model",
            "in": "path",
            "required": true,
            "schema": {
             "type": "string"
            }
           },
           "Version": {
            "name": "version",
            "in": "path",
            "required": true,
            "schema": {
             "type": "string"
            }
           }
          },
          "responses": {
           "Infer": {
            "description": "Output tensors",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/InferResponse"
              }
             },
             "application/octet-stream": {
              "schema": {
               "type": "string",
               "format": "binary"
              }
             }
            }
           },
           "Error": {
            "description": "What was wrong",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/Error"
              }
             }
            }
           },
           "ModelMetadata": {
            "description": "Inputs and outputs",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/ModelMetadata"
              }
             }
            }
           }
          },
          "schemas": {
           "Error": {
            "type": "object",
            "required": [
             "error"
            ],
            "properties": {
             "error": {
              "type": "string"
             }
            }
           },
           "Version": {
            "type": "object",
            "properties": {
             "name": {
              "type": "string"
             },
             "version": {
              "type": "string"
             },
             "ready": {
              "type": "boolean"
             },
             "model": {
              "type": "object",
              "properties": {
               "name": {
                "type": "string"
               },
               "version": {
                "type": "string"
               },
               "sha256": {
                "type": "string"
               }
              }
             }
            }
           },
           "ScoreRequest": {
            "type": "object",
            "required": [
             "input"
            ],
            "properties": {
             "input": {
              "oneOf": [
               {
                "type": "string",
                "description": "A JSON-encoded, non-empty list of base64 images, each optionally written b'...'",
                "pattern": "^\\s*\\[\\s*\""
               },
               {
                "type": "array",
                "items": {
                 "type": "string"
                },
                "minItems": 1
               }
              ]
             }
            }
           },
           "ScoreResponse": {
            "type": "object",
            "properties": {
             "result": {
              "type": "array",
              "prefixItems": [
               {
                "type": "array",
                "items": {
                 "type": "array",
                 "items": {
                  "type": "array",
                  "prefixItems": [
                   {
                    "type": "string"
                   },
                   {
                    "type": "number"
                   }
                  ]
                 }
                }
               },
               {
                "type": "string"
               }
              ]
             }
            }
           },
           "V1Request": {
            "type": "object",
            "required": [
             "instances"
            ],
            "properties": {
             "instances": {
              "type": "array",
              "minItems": 1,
              "items": {
               "oneOf": [
                {
                 "type": "object",
                 "required": [
                  "b64"
                 ],
                 "properties": {
                  "b64": {
                   "type": "string"
                  }
                 }
                },
                {
                 "type": "array"
                }
               ]
              }
             }
            }
           },
           "ClassifyResponse": {
            "type": "object",
            "properties": {
             "model": {
              "type": "string"
             },
             "predictions": {
              "type": "array",
              "items": {
               "type": "array",
               "items": {
                "type": "object",
                "properties": {
                 "index": {
                  "type": "integer"
                 },
                 "label": {
                  "type": "string"
                 },
                 "score": {
                  "type": "number"
                 }
                }
               }
              }
             }
            }
           },
           "Tensor": {
            "type": "object",
            "required": [
             "name",
             "shape",
             "datatype"
            ],
            "properties": {
             "name": {
              "type": "string"
             },
             "shape": {
              "type": "array",
              "items": {
               "type": "integer",
               "minimum": 0
              }
             },
             "datatype": {
              "type": "string",
              "enum": [
               "BOOL",
               "UINT8",
               "UINT16",
               "UINT32",
               "UINT64",
               "INT8",
               "INT16",
               "INT32",
               "INT64",
               "FP16",
               "FP32",
               "FP64",
               "BF16",
               "BYTES"
              ]
             },
             "parameters": {
              "type": "object",
              "properties": {
               "binary_data_size": {
                "type": "integer"
               }
              }
             },
             "data": {
              "type": "array"
             }
            }
           },
           "InferRequest": {
            "type": "object",
            "required": [
             "inputs"
            ],
            "properties": {
             "id": {
              "type": "string"
             },
             "parameters": {
              "type": "object"
             },
             "inputs": {
              "type": "array",
              "items": {
               "$ref": "#/components/schemas/Tensor"
              }
             },
             "outputs": {
              "type": "array",
              "items": {
               "type": "object",
               "required": [
                "name"
               ],
               "properties": {
                "name": {
                 "type": "string"
                },
                "parameters": {
                 "type": "object",
                 "properties": {
                  "classification": {
                   "type": "integer"
                  },
                  "binary_data": {
                   "type": "boolean"
                  }
                 }
                }
               }
              }
             }
            }
           },
           "InferResponse": {
            "type": "object",
            "properties": {
             "model_name": {
              "type": "string"
             },
             "model_version": {
              "type": "string"
             },
             "id": {
              "type": "string"
             },
             "outputs": {
              "type": "array",
              "items": {
               "$ref": "#/components/schemas/Tensor"
              }
             }
            }
           },
           "ModelMetadata": {
            "type": "object",
            "properties": {
             "name": {
              "type": "string"
             },
             "versions": {
              "type": "array",
              "items": {
               "type": "string"
              }
             },
             "platform": {
              "type": "string"
             },
             "inputs": {
              "type": "array"
             },
             "outputs": {
              "type": "array"
             }
            }
           }
          },
          "securitySchemes": {
           "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key as `Authorization: Bearer KEY`, only when the server runs with API_KEYS or API_KEYS_FILE. Probes, server metadata, /openapi.json and /metrics stay open."
           },
           "apiKeyHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "The same API key as `X-API-Key: KEY`."
           }
          }
         }
        }
        """#
}
