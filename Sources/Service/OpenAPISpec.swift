import MouthpieceCore
import Pipeline

/// The API as implemented, served at `/openapi.yaml` (OpenAPI 3.1). Every operation documents
/// its error answers (`default`: the Error shape, whatever the status: 400, 401, 404, 409, 413,
/// 429, 507...).
enum OpenAPISpec {
    static let yaml = """
        openapi: 3.1.0
        info:
          title: Mouthpiece
          version: 0.1.0
          description: >
            Portrait + voice -> lip-synced MP4, asynchronously. Submit a video (202 at once), then poll
            its status, follow its Server-Sent Events, or receive a signed webhook, and download the
            MP4. Every endpoint under /v1 needs `Authorization: Bearer <key>` (or `Key <key>`).
            Errors are `{"error": {"code", "message", "field"?}}` with stable codes. Request bodies
            are JSON (files as http(s) URLs or data: URIs) or multipart/form-data (files as parts).
            URL inputs and webhook URLs that resolve to loopback, private, link-local, multicast or
            metadata addresses are refused (`url_not_allowed`). Webhooks follow Standard Webhooks:
            headers webhook-id, webhook-timestamp and webhook-signature (`v1,<base64 HMAC-SHA256 of
            "id.timestamp.body">`, keyed by the key's `whsec_` secret); a 2xx answer ends the
            delivery, anything else is retried after 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
            20 h and 20 h (about three days), the same webhook-id every time. The same server also
            speaks fal's queue protocol under /fal-ai/kling-video/... (for fal_client, including
            Kling's lip-sync), Sync.so's /v2/generate (for their syncsdk, with `x-api-key`) and D-ID's
            /talks (see docs/MIGRATING.md), and serves finished videos at signed, expiring /files/{id}/{expiry}-{token}/{name} links.
        servers:
          - url: /
        components:
          securitySchemes:
            bearer:
              type: http
              scheme: bearer
          schemas:
            Error:
              type: object
              required: [error]
              properties:
                error:
                  type: object
                  required: [code, message]
                  properties:
                    code:
                      type: string
                      enum: [\(MouthpieceError.Code.allCases.map(\.rawValue).joined(separator: ", "))]
                    message: {type: string}
                    field: {type: string}
            Script:
              type: object
              required: [text]
              properties:
                text: {type: string, maxLength: 5000, description: "What the avatar says: plain text, or SSML starting with <speak> (break, emphasis, prosody, say-as, sub, p, s)."}
                language: {type: string, default: en-us, description: "An espeak-ng language (GET /v1/voices): en, es, de, fr, ja (kanji and kana, read through MeCab), ar..."}
                voice: {type: string, description: "A voice (GET /v1/voices): festival-slt (English's default), festival-kal, openjtalk-mei (Japanese's default), espeak-ng, or an espeak-ng variant f1-f5, m1-m7, klatt, whisper..."}
                rate: {type: integer, minimum: 80, maximum: 450, default: 160, description: Words per minute.}
                pitch: {type: integer, minimum: 0, maximum: 100, default: 50}
            VideoRequest:
              type: object
              description: The voice is one of audio_url, an uploaded audio file (multipart) or script.
              properties:
                avatar_id: {type: string, description: "An avatar made with POST /v1/avatars (or give image_url or video_url). A video avatar makes a clone: its clip's motion, as long as the voice."}
                image_url: {type: string, description: "The portrait: an http(s) URL or a data: URI (JPEG, PNG or WebP, up to 20 MB)."}
                video_url: {type: string, description: "Or a video of the person to re-lip-sync: MP4, MOV, WebM or MKV, up to 60 MB and 10 min. The output keeps its frames, size and frame rate; only the lower face changes."}
                sync_mode: {type: string, enum: [bounce, loop, cut, cut_off, silence], default: bounce, description: "For a video: when it and the voice differ in length. bounce/loop: the voice decides, the video plays forward and backward / starts again; cut (cut_off): the shorter decides; silence: the video decides, the voice is padded."}
                audio_url: {type: string, description: "The voice: an http(s) URL or a data: URI (MP3, WAV, M4A, OGG, FLAC, WebM; up to 40 MB)."}
                webhook_url: {type: string, description: "Where video.completed / video.failed is POSTed (http(s), public address or allow-listed)."}
                script: {$ref: '#/components/schemas/Script'}
                burn_captions: {type: boolean, default: false, description: With a script, draw the captions into the frames.}
                resolution: {type: string, enum: [480p, 720p, 1080p], default: 720p}
                fps: {type: integer, enum: [24, 25, 30, 48, 50, 60], default: 30}
                aspect: {type: string, enum: [original, "16:9", "9:16", "1:1"], default: original}
                expressiveness: {type: number, minimum: 0, maximum: 2, default: 1}
                head_motion: {type: number, minimum: 0, maximum: 2, default: 1}
                seed: {type: integer, minimum: 0}
                face_index: {type: integer, minimum: 0}
                scenes:
                  type: array
                  minItems: 1
                  maxItems: \(Composition.maxScenes)
                  description: >
                    A composition instead of one person and one voice (then leave out avatar_id, image_url,
                    video_url, audio_url, script, burn_captions, sync_mode and face_index): scenes played in
                    order, each with its speakers, layout, background, framing and the transition into the
                    next. Every input is read and every face found at submission: a bad composition is
                    refused with the field at fault (scenes[1].speakers[0].audio). aspect defaults to 16:9.
                  items: {$ref: '#/components/schemas/Scene'}
                captions: {type: string, enum: [none, sidecar, burned], default: sidecar, description: "For a composition: the scripts' captions, continuous across scenes, as files (sidecar) or drawn in too (burned)."}
                music:
                  type: object
                  description: For a composition, a music bed under the speech, looped, lowered while anyone speaks.
                  required: [audio]
                  properties:
                    audio: {type: string, description: "An http(s) URL or a data: URI."}
                    volume: {type: number, minimum: 0, maximum: 1, default: 0.25}
                    ducking: {type: number, minimum: 0, maximum: 1, default: 0.7, description: "How far it drops under speech."}
            LexiconEntry:
              type: object
              required: [word, respelling]
              properties:
                word: {type: string, minLength: 1, maxLength: 100}
                respelling: {type: string, minLength: 1, maxLength: 100}
            Lexicon:
              type: object
              properties:
                object: {type: string, enum: [lexicon]}
                entries: {type: array, items: {$ref: '#/components/schemas/LexiconEntry'}}
            Scene:
              type: object
              required: [speakers]
              properties:
                speakers:
                  type: array
                  minItems: 1
                  maxItems: \(Composition.maxSpeakers)
                  items: {$ref: '#/components/schemas/Speaker'}
                layout: {type: string, enum: [single, side_by_side, picture_in_picture], description: "single for one speaker (the default), side_by_side for two or more (the default); picture_in_picture puts the first speaker full frame and the others in small pictures."}
                background:
                  type: object
                  description: 'One of {"color": "#rrggbb"}, {"image": URL or data: URI} or {"blur": true}; absent, the portrait''s own. The person is cut out by a matte around the head and shoulders.'
                  properties:
                    color: {type: string, pattern: '^#[0-9a-fA-F]{6}$'}
                    image: {type: string}
                    blur: {type: boolean}
                framing: {type: string, enum: [close_up, medium, as_is], default: close_up}
                transition:
                  type: object
                  required: [type]
                  properties:
                    type: {type: string, enum: [cut, crossfade]}
                    seconds: {type: number, minimum: 0, default: 0.5}
                duration: {type: number, exclusiveMinimum: 0, description: "Seconds; by default the end of the last speech. Needed when nobody speaks."}
            Speaker:
              type: object
              description: Who (avatar_id, image or video) and what (audio or script); with neither, the speaker listens (blinks, nods, mouth closed).
              properties:
                avatar_id: {type: string, description: "An avatar of this key: an image avatar speaks as its portrait, a video avatar as a clone of its clip."}
                video: {type: string, description: "Or a short video of the person (an http(s) URL or a data: URI), cloned for the scene: its own motion, the mouth following the voice."}
                image: {type: string, description: "The portrait: an http(s) URL or a data: URI."}
                audio: {type: string, description: "The voice: an http(s) URL or a data: URI."}
                script:
                  oneOf:
                    - type: string
                    - $ref: '#/components/schemas/Script'
                start: {type: number, minimum: 0, description: "Seconds into the scene where the speech starts; speakers of a scene take turns."}
                channel: {type: integer, enum: [0, 1], description: "Of a two-channel dialogue recording, this speaker's channel (speakers may then overlap)."}
            VideoForm:
              description: >
                The same fields as VideoRequest as form fields, with the files as parts; a script as
                script[text], script[language], script[voice], script[rate], script[pitch].
              type: object
              properties:
                image: {type: string, format: binary, description: The portrait (or avatar_id / image_url).}
                video: {type: string, format: binary, description: Or a video of the person to re-lip-sync.}
                audio: {type: string, format: binary, description: The voice (or audio_url).}
                avatar_id: {type: string}
                image_url: {type: string}
                video_url: {type: string}
                sync_mode: {type: string}
                audio_url: {type: string}
                resolution: {type: string}
                fps: {type: integer}
                aspect: {type: string}
                expressiveness: {type: number}
                head_motion: {type: number}
                seed: {type: integer}
                face_index: {type: integer}
                webhook_url: {type: string}
            WebhookMessage:
              type: object
              required: [type, timestamp, data]
              properties:
                type: {type: string, enum: [video.completed, video.failed]}
                timestamp: {type: string, format: date-time}
                data: {$ref: '#/components/schemas/Video'}
            WebhookDelivery:
              type: object
              properties:
                id: {type: string, description: The message's webhook-id.}
                object: {const: webhook_delivery}
                event: {type: string}
                video_id: {type: string}
                url: {type: string}
                status: {type: string, enum: [pending, delivered, failed]}
                attempts: {type: integer}
                next_attempt_at: {type: string, format: date-time}
                delivered_at: {type: string, format: date-time}
                created_at: {type: string, format: date-time}
                log:
                  type: array
                  items:
                    type: object
                    properties:
                      attempt: {type: integer}
                      at: {type: string, format: date-time}
                      status_code: {type: integer}
                      error: {type: string}
                      duration_ms: {type: number}
            Video:
              type: object
              required: [id, object, status, progress, created_at, attempts]
              properties:
                id: {type: string}
                object: {const: video}
                status: {type: string, enum: [queued, processing, completed, failed, canceled]}
                progress: {type: number, minimum: 0, maximum: 1}
                queue_position: {type: integer, description: Jobs ahead of this one (queued only).}
                created_at: {type: string, format: date-time}
                started_at: {type: string, format: date-time}
                finished_at: {type: string, format: date-time}
                attempts: {type: integer, description: Claims by a worker so far (a crashed worker's job is claimed again).}
                options: {type: object}
                error:
                  type: object
                  description: >
                    Why it failed (failed or canceled only): one of the Error codes (input_not_found,
                    encoding_failed, ...), or worker_lost - the workers rendering it kept dying.
                  properties:
                    code: {type: string}
                    message: {type: string}
                last_error:
                  type: object
                  description: Queued or rendering again after an attempt that failed in a way another may not.
                  properties:
                    code: {type: string}
                    message: {type: string}
                result:
                  type: object
                  properties:
                    url: {type: string}
                    content_type: {type: string}
                    duration: {type: number}
                    width: {type: integer}
                    height: {type: integer}
                    fps: {type: integer}
                    frames: {type: integer}
                    file_size: {type: integer}
                    warnings: {type: array, items: {type: string}}
                    scene_starts: {type: array, items: {type: number}, description: "A composition's scene start times in seconds."}
                    voice: {type: string, description: "A video made from a script: the voice that spoke it (festival-slt, openjtalk-mei, espeak-ng...)."}
                    captions:
                      type: object
                      description: Videos made from a script.
                      properties: {srt: {type: string}, vtt: {type: string}}
            Avatar:
              type: object
              properties:
                id: {type: string}
                object: {const: avatar}
                consent:
                  description: The consent attestation for the person shown (null for an avatar made without one, which cannot make videos while consent is required).
                  oneOf:
                    - type: "null"
                    - type: object
                      properties:
                        attested_by: {type: string}
                        relation: {type: string, enum: [self, authorized_representative, parent_or_guardian, rights_holder]}
                        statement: {type: string, description: The statement accepted, word for word.}
                        statement_version: {type: string}
                        accepted_at: {type: string, format: date-time}
                        key_id: {type: string, description: The key that attested.}
                kind: {type: string, enum: [video], description: Present for a video avatar.}
                width: {type: integer, description: A video avatar's frame width.}
                height: {type: integer}
                fps: {type: number}
                frames: {type: integer}
                duration: {type: number}
                frames_with_face: {type: integer, description: Frames where a usable face was found.}
                loop:
                  type: object
                  description: Where a clone turns around (frames where the head rests).
                  properties: {first_frame: {type: integer}, last_frame: {type: integer}}
                image_width: {type: integer}
                image_height: {type: integer}
                faces: {type: integer}
                face_index: {type: integer}
                face_box:
                  type: object
                  properties: {x: {type: number}, y: {type: number}, width: {type: number}, height: {type: number}}
                pose:
                  type: object
                  properties: {yaw_degrees: {type: number}, roll_degrees: {type: number}}
                warnings: {type: array, items: {type: object}}
                preview_url: {type: string}
                created_at: {type: string, format: date-time}
          responses:
            Error:
              description: A refusal with a stable code.
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
        security:
          - bearer: []
        paths:
          /healthz:
            get:
              security: []
              summary: The process is up.
              responses: {'200': {description: ok}, default: {$ref: '#/components/responses/Error'}}
          /readyz:
            get:
              security: []
              summary: The store answers and the blob storage has room.
              responses: {'200': {description: ready}, '503': {description: not ready (the reason is given)}, default: {$ref: '#/components/responses/Error'}}
          /v1/videos:
            post:
              summary: Submit a video; answers 202 at once. A repeated Idempotency-Key returns the first job (200).
              parameters:
                - {name: Idempotency-Key, in: header, schema: {type: string}}
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/VideoRequest'}
                  multipart/form-data:
                    schema: {$ref: '#/components/schemas/VideoForm'}
              responses:
                '202': {description: Queued., content: {application/json: {schema: {$ref: '#/components/schemas/Video'}}}}
                '200': {description: The job an earlier submission with this Idempotency-Key made.}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
                '402': {$ref: '#/components/responses/Error'}
                '429': {description: "queue_full: this key has the queue cap's number of videos queued or rendering; see Retry-After."}
                default: {$ref: '#/components/responses/Error'}
            get:
              summary: This key's videos, newest first.
              parameters:
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 20}}
                - {name: after, in: query, description: The next_cursor of the previous page., schema: {type: string}}
              responses:
                '200': {description: A page; next_cursor is null on the last.}
                default: {$ref: '#/components/responses/Error'}
          /v1/videos/{id}:
            get:
              summary: Status, progress, queue position, timings, error or result.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses:
                '200': {description: The video., content: {application/json: {schema: {$ref: '#/components/schemas/Video'}}}}
                '404': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
            delete:
              summary: Delete a finished video - its inputs, result and captions; it is no longer listed or served (usage still counts it). 409 video_in_progress before it ends.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'204': {description: Deleted.}, '404': {$ref: '#/components/responses/Error'}, '409': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /v1/videos/{id}/cancel:
            post:
              summary: Cancel; a queued video at once, a rendering one within a second.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'200': {description: The video.}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /v1/videos/{id}/content:
            get:
              summary: The MP4, with single-range HTTP Range support.
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
                - {name: Range, in: header, schema: {type: string, example: bytes=0-1023}}
              responses:
                '200': {description: The whole file., content: {video/mp4: {}}}
                '206': {description: The range asked for.}
                '404': {$ref: '#/components/responses/Error'}
                '416': {description: The range lies outside the file.}
                default: {$ref: '#/components/responses/Error'}
          /v1/videos/{id}/poster:
            get:
              summary: The portrait a video was made from (a thumbnail for lists); 404 for a video input.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses:
                '200': {description: The image., content: {image/jpeg: {}, image/png: {}, image/webp: {}}}
                '404': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
          /v1/voices/preview:
            get:
              summary: A short WAV of a language's voice counting to five.
              parameters:
                - {name: language, in: query, schema: {type: string, default: en-us}}
                - {name: voice, in: query, schema: {type: string}}
              responses:
                '200': {description: A WAV., content: {audio/wav: {}}}
                '400': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
          /v1/videos/{id}/provenance:
            get:
              summary: The signed provenance record the MP4 carries (docs/PROVENANCE.md); `mouthpiece verify` checks the file.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses:
                '200':
                  description: "{algorithm: Ed25519, manifest (JSON text, as signed), signature, public_key}"
                  content: {application/json: {}}
                '404': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
          /.well-known/mouthpiece-provenance:
            get:
              summary: The public key every output of this deployment is signed with.
              security: []
              responses:
                '200': {description: "{algorithm, public_key (base64), key_id}", content: {application/json: {}}}
          /v1/videos/{id}/events:
            get:
              summary: Server-Sent Events - `progress` on every change, then `completed`, `failed` or `canceled`.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'200': {description: An event stream., content: {text/event-stream: {}}}, default: {$ref: '#/components/responses/Error'}}
          /v1/videos/{id}/captions.srt:
            get:
              summary: Captions of a video made from a script, SubRip.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'200': {description: SRT., content: {application/x-subrip: {}}}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /v1/videos/{id}/captions.vtt:
            get:
              summary: Captions of a video made from a script, WebVTT.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'200': {description: WebVTT., content: {text/vtt: {}}}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /v1/voices:
            get:
              summary: >
                The voices a script may ask for (id, engine, languages, gender, quality tier, licence,
                whether installed, the languages it speaks by default), espeak-ng's languages (code, name,
                aliases) and its voice variants.
              responses:
                '200':
                  description: Voices, languages and variants.
                  content:
                    application/json:
                      schema:
                        type: object
                        properties:
                          object: {type: string}
                          voices:
                            type: array
                            items:
                              type: object
                              properties:
                                id: {type: string}
                                engine: {type: string, enum: [espeak-ng, festival, open-jtalk]}
                                languages: {type: array, items: {type: string}}
                                gender: {type: string, enum: [female, male]}
                                tier: {type: string, enum: [natural, standard, basic]}
                                description: {type: string}
                                licence: {type: string}
                                available: {type: boolean}
                                default_for: {type: array, items: {type: string}}
                          languages: {type: array, items: {type: object}}
                          variants: {type: array, items: {type: string}}
                default: {$ref: '#/components/responses/Error'}
          /v1/avatars:
            post:
              summary: >
                Upload and analyse a portrait once (a file part `image`, or JSON with image_url), or a
                short video of the person speaking (`video` / video_url: read once; videos made from it
                are clones of any length with its motion and its mouths). Give exactly one, with a
                consent attestation for the person shown (`consent: {attested_by, relation, accepted:
                true}`; form fields `consent[attested_by]`...): without one, 403 consent_required.
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        image_url: {type: string}
                        video_url: {type: string}
                        face_index: {type: integer}
                        consent:
                          type: object
                          properties:
                            attested_by: {type: string, description: Who attests.}
                            relation: {type: string, enum: [self, authorized_representative, parent_or_guardian, rights_holder]}
                            accepted: {type: boolean, description: The consent statement is accepted.}
                  multipart/form-data:
                    schema:
                      type: object
                      properties:
                        image: {type: string, format: binary}
                        video: {type: string, format: binary}
                        face_index: {type: integer}
                        consent[attested_by]: {type: string}
                        consent[relation]: {type: string}
                        consent[accepted]: {type: boolean}
              responses:
                '201': {description: The avatar., content: {application/json: {schema: {$ref: '#/components/schemas/Avatar'}}}}
                '400': {$ref: '#/components/responses/Error'}
                '403': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
            get:
              summary: This key's avatars.
              responses: {'200': {description: A list.}, default: {$ref: '#/components/responses/Error'}}
          /v1/avatars/{id}:
            get:
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'200': {description: The avatar.}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
            delete:
              summary: Delete the avatar and its stored image (videos made from it keep theirs).
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'204': {description: Deleted.}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /v1/lexicon:
            get:
              summary: >
                The key's pronunciations (word -> respelling, such as "Nguyen" -> "win"): every voice says
                the respelling in this key's scripts (videos, compositions, live sessions), words and
                captions keep the word. A video keeps the entries its script used at submission.
              responses:
                '200': {description: The lexicon., content: {application/json: {schema: {$ref: '#/components/schemas/Lexicon'}}}}
                default: {$ref: '#/components/responses/Error'}
            put:
              summary: Replace the whole lexicon (at most 1000 entries; a word and its respelling 1-100 characters, no < > &).
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [entries]
                      properties:
                        entries: {type: array, items: {$ref: '#/components/schemas/LexiconEntry'}}
              responses:
                '200': {description: The lexicon., content: {application/json: {schema: {$ref: '#/components/schemas/Lexicon'}}}}
                '400': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
          /v1/lexicon/{word}:
            put:
              summary: Add or replace one entry (the same word in any case is one entry).
              parameters: [{name: word, in: path, required: true, schema: {type: string}}]
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {type: object, required: [respelling], properties: {respelling: {type: string}}}
              responses:
                '200': {description: The lexicon., content: {application/json: {schema: {$ref: '#/components/schemas/Lexicon'}}}}
                '400': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
            delete:
              summary: Remove one entry.
              parameters: [{name: word, in: path, required: true, schema: {type: string}}]
              responses: {'204': {description: Removed.}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /v1/avatars/{id}/preview:
            get:
              summary: The portrait with the detected face, landmarks and mesh drawn on it.
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'200': {description: A PNG., content: {image/png: {}}}, default: {$ref: '#/components/responses/Error'}}
          /v1/live/sessions:
            post:
              summary: >
                Prepare a live session: a talking avatar streamed as audio arrives. Give one of avatar_id (a
                portrait avatar of this key), image_url, or an uploaded `image`. The answer's url is a
                WebSocket, open once within expires_in seconds: it sends a `ready` event (JSON text), the
                init segment and then one fragmented-MP4 fragment a frame (binary: H.264 + AAC, `mime` for
                Media Source Extensions), and events `speaking`, `idle`, `interrupted`, `stats`, `error`,
                `ended`; it takes PCM16 mono audio at sample_rate in binary messages and controls as text
                {"type": "say", "text", "language"?, "voice"?}, {"type": "interrupt"}, {"type": "end"}.
                A wrong, spent or expired token closes the socket at once with code 4401. Live seconds are
                not metered yet: keys with a quota, credits or a watermarked plan get 402 quota_exceeded.
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        avatar_id: {type: string}
                        image_url: {type: string}
                        sample_rate: {type: integer, enum: [16000, 24000], description: "Of the PCM16 sent, and of the stream's AAC (default 16000)."}
                        fps: {type: integer, enum: [20, 24, 25, 30], description: Default 25.}
                        resolution: {type: string, enum: [480p, 720p, 1080p], description: Default 720p.}
                        seed: {type: integer, minimum: 0}
                        expressiveness: {type: number, minimum: 0, maximum: 2}
                        head_motion: {type: number, minimum: 0, maximum: 2}
                        lookahead_ms: {type: number, minimum: 0, maximum: 500, description: "How far the mouth may hear ahead (default 100)."}
                  multipart/form-data:
                    schema:
                      type: object
                      properties:
                        image: {type: string, format: binary}
                        avatar_id: {type: string}
                        sample_rate: {type: integer}
                        fps: {type: integer}
                        resolution: {type: string}
              responses:
                '201':
                  description: The session, ready to connect.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [id, object, url, token, expires_in, mime, width, height, fps, sample_rate, mouth_box]
                        properties:
                          id: {type: string}
                          object: {type: string, enum: [live_session]}
                          url: {type: string, description: The WebSocket's path with its one-time token.}
                          token: {type: string}
                          expires_in: {type: integer}
                          mime: {type: string}
                          width: {type: integer}
                          height: {type: integer}
                          fps: {type: integer}
                          sample_rate: {type: integer}
                          mouth_box: {type: array, items: {type: integer}, description: "[x, y, width, height] of the mouth at rest."}
                '400': {$ref: '#/components/responses/Error'}
                '403': {$ref: '#/components/responses/Error'}
                '404': {$ref: '#/components/responses/Error'}
                '429': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
          /v1/usage:
            get:
              summary: "Output seconds rendered with this key, in all and by UTC day; its plan and this month's credits {period_start, period_end, monthly_seconds, used_seconds, left_seconds} (null without)."
              responses: {'200': {description: Usage.}, default: {$ref: '#/components/responses/Error'}}
          /v1/webhook-deliveries:
            get:
              summary: This key's webhook messages with every attempt, newest first.
              parameters:
                - {name: video_id, in: query, schema: {type: string}}
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 50}}
              responses: {'200': {description: A list of WebhookDelivery.}, default: {$ref: '#/components/responses/Error'}}
          /v1/webhook-deliveries/{id}:
            get:
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses:
                '200': {description: The delivery., content: {application/json: {schema: {$ref: '#/components/schemas/WebhookDelivery'}}}}
                '404': {$ref: '#/components/responses/Error'}
                default: {$ref: '#/components/responses/Error'}
          /v1/webhook-deliveries/{id}/retry:
            post:
              summary: Send it again now (a failed delivery gets a fresh schedule).
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              responses: {'202': {description: The delivery.}, '404': {$ref: '#/components/responses/Error'}, default: {$ref: '#/components/responses/Error'}}
          /metrics:
            get:
              security: []
              summary: Prometheus metrics (aggregate counts and timings, nothing per key).
              responses: {'200': {description: Prometheus text format., content: {text/plain: {}}}, default: {$ref: '#/components/responses/Error'}}
        webhooks:
          video.completed:
            post:
              summary: A video finished; data is the video as GET /v1/videos/{id} shows it.
              requestBody:
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/WebhookMessage'}
              responses: {'200': {description: Any 2xx ends the delivery.}}
          video.failed:
            post:
              summary: A video failed; data.error says why.
              requestBody:
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/WebhookMessage'}
              responses: {'200': {description: Any 2xx ends the delivery.}}
        """
}
