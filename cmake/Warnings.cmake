# The one place warning and sanitizer flags are set. Every target links unity_options.
add_library(unity_options INTERFACE)
target_compile_options(unity_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                               -Wnon-virtual-dtor -Wcast-align -Wunused
                                               # Designated initializers ({.tries = 3}) leave the
                                               # other members at their defaults on purpose.
                                               -Wno-missing-field-initializers)
if(UNITY_WERROR)
  target_compile_options(unity_options INTERFACE -Werror)
endif()
if(UNITY_SANITIZE)
  target_compile_options(unity_options INTERFACE -fsanitize=address,undefined
                                                 -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(unity_options INTERFACE -fsanitize=address,undefined)
endif()
